"""Generated hostile documents (small, deterministic): no committed binaries.

`big_table_docx` is a few hundred KB whose word/document.xml is about 95 MB (a table of
100,000 rows x 20 cells): it takes LibreOffice's memory. `linking_documents` reference a
sentinel file outside the task's directory and a loopback listener in every way
LibreOffice follows a link (see tests/e2e/test_hostile.py).
"""

# ruff: noqa: E501
from __future__ import annotations

import io
import zipfile

CONTENT_TYPES_DOCX = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="svg" ContentType="image/svg+xml"/>'
    '<Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
ROOT_RELS_DOCX = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def zip_bytes(members: dict[str, bytes | str], level: int = 9) -> bytes:
    """A deterministic zip (fixed dates), members in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def big_table_docx(rows: int = 100_000, cols: int = 20) -> bytes:
    """A .docx whose document.xml holds a rows x cols table (100,000 x 20: about 95 MB of XML
    in a file of about 350 KB)."""
    cell = "<w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>"
    row = "<w:tr>" + cell * cols + "</w:tr>"
    body = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}">'
        '<w:body><w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
        + row * rows
        + "</w:tbl><w:p/></w:body></w:document>"
    )
    return zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_DOCX,
            "_rels/.rels": ROOT_RELS_DOCX,
            "word/document.xml": body,
        }
    )


# --- documents that reach out -------------------------------------------------------------
# Each references `secret` (a file outside the task's directory: a PDF or a PNG whose pixels
# are pure magenta) and `url` (a loopback listener). A safe converter shows neither.

MARKER = "Hostile marker 7Q2X"
ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'office:version="1.2"'
)
ODF_MIMES = {
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
}


def svg_linking(*hrefs: str) -> str:
    """An SVG picture whose content is other files or URLs (what LibreOffice's SVG importer
    loads and embeds, PDF pages included)."""
    images = "".join(
        f'<image x="0" y="{i * 400}" width="600" height="400" xlink:href="{h}"/>'
        for i, h in enumerate(hrefs)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" width="600" height="800" '
        f'viewBox="0 0 600 {400 * len(hrefs)}">{images}</svg>'
    )


def _odf(kind: str, body: str, pictures: dict[str, str]) -> bytes:
    if kind == "odt":
        content_body = f"<office:text><text:p>{MARKER}</text:p>{body}</office:text>"
    else:
        content_body = (
            '<office:presentation><draw:page draw:name="p1">'
            f'<draw:frame svg:x="1cm" svg:y="1cm" svg:width="10cm" svg:height="2cm">'
            f"<draw:text-box><text:p>{MARKER}</text:p></draw:text-box></draw:frame>"
            f"{body}</draw:page></office:presentation>"
        )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
        f"<office:body>{content_body}</office:body></office:document-content>"
    )
    entries = "".join(
        f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="image/svg+xml"/>'
        for n in pictures
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="{ODF_MIMES[kind]}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        f"{entries}</manifest:manifest>"
    )
    return zip_bytes(
        {
            "mimetype": ODF_MIMES[kind],
            "content.xml": content,
            **pictures,
            "META-INF/manifest.xml": manifest,
        }
    )


def _odf_frame(href: str, anchor: str) -> str:
    return (
        f'<draw:frame {anchor} svg:width="15cm" svg:height="20cm" svg:x="1cm" svg:y="4cm">'
        f'<draw:image xlink:href="{href}" xlink:type="simple" xlink:show="embed" '
        'xlink:actuate="onLoad"/></draw:frame>'
    )


def odf_svg(kind: str, secret: str, url: str) -> bytes:
    """ODT/ODP with Pictures/x.svg linking the secret and the listener (the reported attack)."""
    anchor = 'text:anchor-type="paragraph"' if kind == "odt" else ""
    frame = _odf_frame("Pictures/x.svg", anchor)
    body = f"<text:p>{frame}</text:p>" if kind == "odt" else frame
    pictures = {"Pictures/x.svg": svg_linking(f"file://{secret}", f"{url}/svg.png")}
    return _odf(kind, body, pictures)


def odf_linked(kind: str, secret: str, url: str) -> bytes:
    """ODT/ODP whose draw:image links the secret and the listener directly (not embedded)."""
    anchor = 'text:anchor-type="paragraph"' if kind == "odt" else ""
    frames = _odf_frame(f"file://{secret}", anchor) + _odf_frame(f"{url}/linked.png", anchor)
    body = f"<text:p>{frames}</text:p>" if kind == "odt" else frames
    return _odf(kind, body, {})


def flat_odt(secret: str, url: str) -> bytes:
    """A flat XML ODF text (.fodt content, under a name LibreOffice sniffs) linking both."""
    anchor = 'text:anchor-type="paragraph"'
    frames = _odf_frame(f"file://{secret}", anchor) + _odf_frame(f"{url}/flat.png", anchor)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document {ODF_NS} '
        f'office:mimetype="{ODF_MIMES["odt"]}"><office:body><office:text>'
        f"<text:p>{MARKER}</text:p><text:p>{frames}</text:p>"
        "</office:text></office:body></office:document>"
    ).encode()


def _docx(body: str, rels: str, parts: dict[str, str]) -> bytes:
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        f"<w:body><w:p><w:r><w:t>{MARKER}</w:t></w:r></w:p>{body}</w:body></w:document>"
    )
    doc_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{rels}</Relationships>"
    )
    return zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_DOCX,
            "_rels/.rels": ROOT_RELS_DOCX,
            "word/document.xml": document,
            "word/_rels/document.xml.rels": doc_rels,
            **parts,
        }
    )


IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


def _docx_picture(n: int, blip: str) -> str:
    return (
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="5400000" cy="3600000"/>'
        f'<wp:docPr id="{n}" name="p{n}"/><a:graphic><a:graphicData '
        'uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
        f'<pic:nvPicPr><pic:cNvPr id="{n}" name="p{n}"/><pic:cNvPicPr/></pic:nvPicPr>'
        f"<pic:blipFill>{blip}<a:stretch><a:fillRect/></a:stretch></pic:blipFill>"
        '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="5400000" cy="3600000"/></a:xfrm>'
        '<a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic>'
        "</wp:inline></w:drawing></w:r></w:p>"
    )


def docx_svg(secret: str, url: str) -> bytes:
    """DOCX with word/media/x.svg linking the secret and the listener."""
    rels = f'<Relationship Id="rIdS" Type="{IMAGE_REL}" Target="media/x.svg"/>'
    body = _docx_picture(1, '<a:blip r:embed="rIdS"/>')
    return _docx(body, rels, {"word/media/x.svg": svg_linking(f"file://{secret}", f"{url}/s.png")})


def docx_linked(secret: str, url: str) -> bytes:
    """DOCX pictures linked through external relationships (r:link, TargetMode=External),
    and INCLUDEPICTURE/INCLUDETEXT fields."""
    rels = (
        f'<Relationship Id="rIdF" Type="{IMAGE_REL}" Target="file://{secret}" '
        'TargetMode="External"/>'
        f'<Relationship Id="rIdH" Type="{IMAGE_REL}" Target="{url}/ext.png" '
        'TargetMode="External"/>'
    )
    fields = "".join(
        f'<w:p><w:fldSimple w:instr=" {kind} &quot;{target}&quot; \\d "><w:r><w:t>.</w:t>'
        "</w:r></w:fldSimple></w:p>"
        for kind, target in (
            ("INCLUDEPICTURE", f"file://{secret}"),
            ("INCLUDEPICTURE", f"{url}/field.png"),
            ("INCLUDETEXT", secret),
        )
    )
    body = (
        _docx_picture(1, '<a:blip r:link="rIdF"/>')
        + _docx_picture(2, '<a:blip r:link="rIdH"/>')
        + fields
    )
    return _docx(body, rels, {})


def html_linking(secret: str, url: str) -> bytes:
    return (
        f'<html><body><p>{MARKER}</p><img src="file://{secret}" width="600" height="400">'
        f'<img src="{url}/html.png"><iframe src="file://{secret}"></iframe></body></html>'
    ).encode()


def rtf_linking(secret: str, url: str) -> bytes:
    return (
        f"{{\\rtf1\\ansi {MARKER}\\par "
        f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{secret}" \\\\d}}{{\\fldrslt }}}}'
        f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{url}/rtf.png" \\\\d}}{{\\fldrslt }}}}'
        "}"
    ).encode()


#: name -> (generator(secret path, listener url), source file name). Kept small: each runs
#: against a PDF and a PNG sentinel.
LINKING = {
    "odt-svg": (lambda s, u: odf_svg("odt", s, u), "x.odt"),
    "odp-svg": (lambda s, u: odf_svg("odp", s, u), "x.odp"),
    "odt-linked": (lambda s, u: odf_linked("odt", s, u), "x.odt"),
    "odp-linked": (lambda s, u: odf_linked("odp", s, u), "x.odp"),
    "fodt-as-doc": (flat_odt, "x.doc"),
    "docx-svg": (docx_svg, "x.docx"),
    "docx-linked": (docx_linked, "x.docx"),
    "html-img": (html_linking, "x.html"),
    "rtf-includepicture": (rtf_linking, "x.rtf"),
}
