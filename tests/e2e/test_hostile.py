"""Hostile input through a real `imm-engine up`: requests the server must refuse as IMM does,
and documents that lie about their type, are damaged or try to reach out.

Each damaged document must fail its task with a clear Code (never crash or hang the worker),
and the worker's next task must succeed. The small fixtures are generated here.
"""

from __future__ import annotations

import hashlib
import io
import random
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pymupdf
import pytest

from tests.support.e2e_service import BUCKET, task_keys
from tests.support.hostile_docs import LINKING, MARKER, big_table_docx
from tests.support.hostile_params import PARAMETERS, VALID
from tests.support.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Service, free_port, raw_call
from tests.support.service import signed_headers as sdk_signed_headers
from tests.support.signing import raw_query, sign

pytestmark = [pytest.mark.e2e]


def query(**extra: str) -> dict[str, str]:
    return {
        "ProjectName": "test-project",
        "SourceURI": f"oss://{BUCKET}/fake.docx",
        "TargetType": "pdf",
        "TargetURI": f"oss://{BUCKET}/out/hostile/{{barename}}.{{autoext}}",
        **extra,
    }


def host(service: Service) -> str:
    return f"127.0.0.1:{service.port}"


def imm_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    body: dict[str, Any] = response.json()
    assert (response.status_code, body.get("Code")) == (status, code), body
    assert body["RequestId"] and body["Message"]
    return body


# --- requests the server refuses ---------------------------------------------------------


def test_huge_header_is_refused_with_imm_json(service: Service, store: Any) -> None:
    before = task_keys(store, service)
    q = query()
    headers = sdk_signed_headers(service.port, "CreateOfficeConversionTask", q)
    headers["x-padding"] = "a" * (1 << 20)  # uvicorn's parser takes it; the API refuses it
    imm_error(raw_call(service.port, q, headers), 431, "RequestHeaderFieldsTooLarge")
    assert task_keys(store, service) == before


def test_many_headers_are_refused(service: Service) -> None:
    q = query()
    headers = sdk_signed_headers(service.port, "CreateOfficeConversionTask", q)
    headers.update({f"x-h{i}": "v" * 100 for i in range(1000)})
    imm_error(raw_call(service.port, q, headers), 431, "RequestHeaderFieldsTooLarge")


def test_declared_oversized_body_is_refused_unread(service: Service) -> None:
    """Content-Length above the limit: refused before the body is read."""
    body = b"Sources=" + b"x" * (2 * 1024 * 1024)
    headers = sign(
        host(service), list(query().items()), body, key_id=ACCESS_KEY_ID,
        secret=ACCESS_KEY_SECRET, content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    response = httpx.post(
        f"http://{host(service)}/?{raw_query(list(query().items())).decode()}",
        headers=headers,
        content=iter([body]),  # streamed: chunked, no Content-Length
        timeout=30,
    )
    imm_error(response, 413, "RequestEntityTooLarge")


# (An unknown method such as FOO is refused by uvicorn's HTTP parser: plain 400, no task.)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_get_imm_405(service: Service, method: str) -> None:
    response = httpx.request(method, f"http://{host(service)}/", timeout=10)
    imm_error(response, 405, "MethodNotAllowed")
    assert response.headers["allow"] == "GET, POST"


def _raw_http(service: Service, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < 12:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def test_raw_non_ascii_query_is_refused(service: Service) -> None:
    request = (
        f"POST /?SourceURI=oss://{BUCKET}/\xe9.docx HTTP/1.1\r\nHost: {host(service)}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    status, data = _raw_http(service, request)
    # Either uvicorn refuses the request line itself (plain 400), or the API answers IMM's
    # InvalidArgument; never a 500 and never a task.
    assert status == 400, data[:300]


def test_parameter_in_query_and_body_is_refused(service: Service, store: Any) -> None:
    before = task_keys(store, service)
    q = list(query().items())
    body = b"TargetType=png"
    headers = sign(
        host(service), q, body, key_id=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    response = httpx.post(
        f"http://{host(service)}/?{raw_query(q).decode()}", headers=headers, content=body
    )
    assert "more than once" in imm_error(response, 400, "InvalidArgument")["Message"]
    assert task_keys(store, service) == before


def test_header_changed_after_signing_is_refused(service: Service) -> None:
    q = query()
    headers = sdk_signed_headers(service.port, "CreateOfficeConversionTask", q)
    headers["x-acs-action"] = "GetTask"
    imm_error(raw_call(service.port, q, headers), 400, "SignatureDoesNotMatch")


def test_date_in_the_future_is_refused(service: Service) -> None:
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    q = query()
    headers = sdk_signed_headers(service.port, "CreateOfficeConversionTask", q, date=ahead)
    imm_error(raw_call(service.port, q, headers), 400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize(("changes", "code", "fragment"), PARAMETERS)
def test_hostile_parameters_through_the_real_server(
    service: Service, store: Any, changes: dict[str, str | None], code: str, fragment: str
) -> None:
    """The in-process table of tests/integration/test_api_hostile.py, over uvicorn."""
    fields = {**VALID, **changes}
    pairs = [(k, v) for k, v in fields.items() if v is not None]
    before = task_keys(store, service)
    headers = sign(host(service), pairs, key_id=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET)
    response = httpx.post(
        f"http://{host(service)}/?{raw_query(pairs).decode()}", headers=headers, timeout=10
    )
    assert fragment in imm_error(response, 400, code)["Message"]
    assert task_keys(store, service) == before


def test_server_stays_healthy(service: Service) -> None:
    assert httpx.get(f"http://{host(service)}/healthz", timeout=10).status_code == 200
    q = query()
    response = raw_call(
        service.port, q, sdk_signed_headers(service.port, "CreateOfficeConversionTask", q)
    )
    assert response.status_code == 200, response.text


# --- documents that lie, are damaged or reach out ----------------------------------------


def pdf_bytes(text: str = "a real pdf") -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A 200 KB .docx whose document.xml expands to 120 MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        with z.open("word/document.xml", "w") as f:
            for _ in range(120):
                f.write(bytes(1 << 20))
    return buf.getvalue()


def noise(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_HEADER = b"\x03\x00\xfe\xff\x09\x00\x06\x00"  # version 3, FFFE, 512-byte sectors
DAMAGED: list[Any] = [
    # (object name, content, target type, expected Code)
    pytest.param("pdf.docx", lambda c: pdf_bytes(), "pdf", "InvalidFile", id="pdf-named-docx"),
    pytest.param("zip.xlsx", lambda c: zip_bytes({"hello.txt": b"hello"}), "pdf", "InvalidFile",
                 id="plain-zip-named-xlsx"),
    pytest.param("parts.docx", lambda c: zip_bytes({"[Content_Types].xml": b"<Types/>"}), "pdf",
                 "InvalidFile", id="ooxml-without-parts"),
    pytest.param("bomb.docx", lambda c: zip_bomb(), "pdf", "InvalidFile", id="zip-bomb"),
    pytest.param("noise.pptx", lambda c: noise(20000), "png", "InvalidFile",
                 id="random-bytes-named-pptx"),
    pytest.param("ole-noise.doc", lambda c: OLE_MAGIC + noise(20000), "pdf", "InvalidFile",
                 id="ole-magic-then-noise"),
    pytest.param("cfb-noise.xls", lambda c: OLE_MAGIC + bytes(18) + OLE_HEADER + noise(20000),
                 "pdf", "InvalidFile", id="ole-header-then-noise"),
    pytest.param("empty.docx", lambda c: b"", "pdf", "InvalidFile", id="empty-docx"),
    pytest.param("empty.pdf", lambda c: b"", "png", "InvalidFile", id="empty-pdf"),
    pytest.param("binary.txt", lambda c: b"\x00\x01\x02" * 1000, "pdf", "InvalidFile",
                 id="binary-named-txt"),
    pytest.param("half.pdf", lambda c: pdf_bytes()[:300], "png", "InvalidFile",
                 id="truncated-pdf"),
    pytest.param("docx.pdf", lambda c: (c / "fake.docx").read_bytes(), "png", "InvalidFile",
                 id="docx-named-pdf"),
    pytest.param("locked.docx", lambda c: (c / "password_protected.xlsx").read_bytes(), "pdf",
                 "PasswordRequired", id="encrypted-xlsx-named-docx"),
]  # fmt: skip


#: What the message says where our own checks (not LibreOffice) refuse the file.
HINTS = {
    "bomb.docx": "expands",
    "pdf.docx": "is not a valid .docx",
    "ole-noise.doc": "is not a valid .doc",
    "cfb-noise.xls": "is not a valid .xls",
    "noise.pptx": "is not a valid .pptx",
}


@pytest.mark.soffice
@pytest.mark.corpus
@pytest.mark.parametrize(("name", "content", "target", "code"), DAMAGED)
def test_damaged_or_mislabelled_document_fails_clearly(
    convert: Any,
    service: Service,
    corpus: Path,
    name: str,
    content: Callable[[Path], bytes],
    target: str,
    code: str,
) -> None:
    uri = service.put(BUCKET, f"hostile/{name}", content(corpus))
    _, delivery = convert(uri, target)
    result = delivery.content
    assert result["Status"] == "Failed", result
    assert result["Code"] == code, result
    assert result["Message"] and "Traceback" not in result["Message"]
    assert HINTS.get(name, "") in result["Message"]


def test_huge_page_at_high_dpi_fails_instead_of_exhausting_memory(
    convert: Any, service: Service
) -> None:
    doc = pymupdf.open()
    doc.new_page(width=14400, height=14400)  # PDF's largest page: 200 x 200 inches
    uri = service.put(BUCKET, "hostile/huge-page.pdf", doc.tobytes())
    _, delivery = convert(uri, "png", image_dpi=600)
    assert delivery.content["Status"] == "Failed", delivery.content
    assert delivery.content["Code"] == "InvalidArgument.ImageDPI"
    assert "megapixels" in delivery.content["Message"]


@pytest.mark.soffice
@pytest.mark.corpus
def test_copy_protected_pdf_converts(convert: Any) -> None:
    """Permission flags (no copying, no printing) do not stop a conversion: IMM converts it."""
    _, delivery = convert("copy-protected.pdf", "png", pages="1")
    assert delivery.content["Status"] == "Succeeded", delivery.content
    assert delivery.content["TargetCount"] == 1


@pytest.mark.soffice
@pytest.mark.corpus
def test_damaged_on_purpose_pptx_is_repaired_like_office_does(convert: Any) -> None:
    """The corpus's malformed deck is well-formed XML with broken references: LibreOffice
    repairs it (as PowerPoint offers to), so it converts rather than fails."""
    _, delivery = convert("fake-power-point-malformed.pptx", "png")
    assert delivery.content["Status"] == "Succeeded", delivery.content
    assert delivery.content["TargetCount"] >= 1


class Probe:
    """An HTTP server on loopback recording every request a document makes it receive."""

    def __init__(self) -> None:
        self.port = free_port()
        self.paths: list[str] = []
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                probe.paths.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_HEAD = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def probe() -> Iterator[Probe]:
    p = Probe()
    yield p
    p.stop()


def reaching_out(probe: Probe, secret_file: Path, secret_image: Path, rtf: bool) -> bytes:
    url = f"http://127.0.0.1:{probe.port}"
    if rtf:  # fields that include a picture or a text from elsewhere
        return (
            "{\\rtf1\\ansi Hostile marker 7Q2X: the document tries to fetch and embed.\\par "
            f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{url}/pic.png" \\\\d}}{{\\fldrslt }}}}'
            f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{secret_image}" \\\\d}}{{\\fldrslt }}}}'
            f'{{\\field{{\\*\\fldinst INCLUDETEXT "{secret_file}"}}{{\\fldrslt }}}}'
            f'{{\\field{{\\*\\fldinst INCLUDETEXT "{url}/text.txt"}}{{\\fldrslt }}}}'
            "}"
        ).encode()
    return f"""<html><head><link rel="stylesheet" href="{url}/style.css"></head><body>
<h1>A heading</h1><p>Hostile marker 7Q2X: the document tries to fetch and embed.</p>
<img src="{url}/img.png"><img src="file://{secret_file}"><img src="file://{secret_image}">
<iframe src="{url}/frame.html"></iframe><iframe src="file://{secret_file}"></iframe>
<object data="file://{secret_file}"></object><embed src="{url}/embed.bin">
</body></html>""".encode()


@pytest.mark.soffice
@pytest.mark.parametrize("name", ["reach.doc", "reach.html", "reach.rtf", "rtf-named.doc"])
def test_linking_document_converts_without_fetching_or_embedding_anything(
    convert: Any, service: Service, probe: Probe, tmp_path: Path, name: str
) -> None:
    """HTML or RTF named .doc is accepted (a common export), converted, never reaches out."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711\n")
    image = tmp_path / "secret.png"
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 37, 23), 0)  # a telling size
    pix.set_rect(pix.irect, (255, 0, 0))
    pix.save(str(image))
    uri = service.put(
        BUCKET, f"hostile/{name}", reaching_out(probe, secret, image, rtf="rtf" in name)
    )
    run = hashlib.md5(name.encode()).hexdigest()[:6]
    target = f"oss://{BUCKET}/out/{run}/reach.pdf"
    _, delivery = convert(uri, "pdf", target_uri=target)
    assert delivery.content["Status"] == "Succeeded", delivery.content
    with pymupdf.open(service.object(target)) as doc:
        text = "".join(page.get_text() for page in doc)
        # (LibreOffice draws a 32x32 placeholder icon for what it did not load)
        sizes = {(img[2], img[3]) for page in doc for img in page.get_images(full=True)}
    assert "Hostile marker 7Q2X" in text
    assert "TOP-SECRET-4711" not in text
    assert (37, 23) not in sizes, "a linked local image was embedded"
    assert probe.paths == [], f"the converter fetched {probe.paths}"


@pytest.mark.soffice
@pytest.mark.corpus
def test_worker_converts_after_the_hostile_documents(convert: Any) -> None:
    for _ in range(2):  # both worker processes
        _, delivery = convert("fake.docx", "pdf")
        assert delivery.content["Status"] == "Succeeded", delivery.content


# --- documents that read other tenants' files (issue: LibreOffice's picture importers) -----


@pytest.fixture()
def other_tenant(service: Service) -> dict[str, Path]:
    """Another tenant's objects in the same storage root: a PDF page and a PNG of pure
    magenta with a telling text. No task of this test may show them."""
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.draw_rect(page.rect, color=(1, 0, 1), fill=(1, 0, 1))
    page.insert_text((50, 200), "SENTINEL-PDF-5150", fontsize=40, color=(0, 0, 0))
    service.put("other-tenant-bkt", "secret.pdf", doc.tobytes())
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 200), 0)
    pix.set_rect(pix.irect, (255, 0, 255))
    service.put("other-tenant-bkt", "secret.png", pix.tobytes("png"))
    root = service.storage / "other-tenant-bkt"
    return {"pdf": root / "secret.pdf", "png": root / "secret.png"}


def magenta(pix: pymupdf.Pixmap) -> int:
    data, n = pix.samples, pix.n
    return sum(
        1
        for i in range(0, len(data), n)
        if data[i] > 230 and data[i + 1] < 40 and data[i + 2] > 230
    )


@pytest.mark.soffice
@pytest.mark.parametrize(
    ("name", "secret", "target"),
    [
        ("odt-svg", "pdf", "png"), ("docx-svg", "pdf", "jpg"), ("odp-svg", "png", "png"),
        ("odp-linked", "pdf", "txt"), ("docx-linked", "png", "pdf"),
        ("fodt-as-doc", "png", "png"), ("rtf-includepicture", "pdf", "txt"),
    ],
)  # fmt: skip
def test_document_linking_another_tenants_object_shows_nothing_of_it(
    convert: Any,
    service: Service,
    probe: Probe,
    other_tenant: dict[str, Path],
    name: str,
    secret: str,
    target: str,
) -> None:
    make, filename = LINKING[name]
    data = make(str(other_tenant[secret].absolute()), f"http://127.0.0.1:{probe.port}")
    uri = service.put(BUCKET, f"hostile/{name}/{filename}", data)
    _, delivery = convert(uri, target)
    result = delivery.content
    assert result["Status"] == "Succeeded", result
    outputs = [service.object(t["URI"]) for t in result["Targets"]]
    text = ""
    for out in outputs:
        if target in ("png", "jpg"):
            assert magenta(pymupdf.Pixmap(str(out))) == 0, f"{out.name} shows the sentinel"
        elif target == "pdf":
            with pymupdf.open(out) as doc:
                text += "".join(page.get_text() for page in doc)
                assert all(magenta(page.get_pixmap(dpi=30)) == 0 for page in doc)
        else:
            text += out.read_text(encoding="utf-8")
    if target in ("pdf", "txt"):
        assert MARKER in text
    assert "SENTINEL-PDF-5150" not in text
    assert probe.paths == [], f"the converter fetched {probe.paths}"


@pytest.mark.soffice
def test_small_docx_with_a_huge_table_is_refused_before_libreoffice(
    convert: Any, service: Service
) -> None:
    """~420 KB whose document.xml is ~95 MB (100,000 x 20 cells): refused by the XML expansion
    cap with a clear message, and the worker converts the next document."""
    uri = service.put(BUCKET, "hostile/big-table.docx", big_table_docx())
    _, delivery = convert(uri, "pdf")
    result = delivery.content
    assert (result["Status"], result["Code"]) == ("Failed", "InvalidFile"), result
    assert "IMM_MAX_XML_RATIO" in result["Message"]
