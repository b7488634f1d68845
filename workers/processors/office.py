"""OfficeConversion: Word, PowerPoint, Excel, PDF (and e-books) to png, jpg, pdf or txt.

Office formats become a PDF in the process's warm LibreOffice (only the selected pages are
exported); PDF pages become images or text with PyMuPDF. One object is written per page
for images (and for txt unless LongText), one object for pdf.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymupdf

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.state.split import PageOut
from imm_engine.targets import uris
from imm_engine.targets.naming import Namer
from imm_engine.tasktypes import office_conversion
from imm_engine.tasktypes.office.formats import IMAGE_TARGETS, PLAIN_TEXT_TYPES, Family
from imm_engine.tasktypes.office_conversion import OfficeJob
from workers.failures.quarantine import Quarantine
from workers.processors import long_picture, pdf_render
from workers.processors.base import TaskContext
from workers.processors.image_sources import images_to_pdf
from workers.processors.objects import fetch, upload
from workers.processors.text import flow
from workers.soffice import comments, links, oneshot, rtf_fields, sniff
from workers.soffice.converter import Converter, PdfExport
from workers.soffice.export_options import ExportOptions
from workers.split import planning

if TYPE_CHECKING:
    from workers.split.ranges import Splitter

log = logging.getLogger("imm_engine.worker")

#: Targets listed in the completion event; the count is always given in full.
MAX_LISTED_TARGETS = 200


class OfficeConversion:
    task_type = office_conversion.TASK_TYPE

    def run(self, job: OfficeJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        source = uris.parse_object(job.source, "SourceURI")
        source_type = job.source_type
        family = job.family
        target_type = job.target_type
        selection = job.selection
        password = job.password

        splitter: Splitter | None = ctx.resources.get("splitter")
        if splitter is not None:
            splitter.resume(rec)  # this task already fanned out its pages: Deferred
        # Plain text and source code open in LibreOffice as text whatever their extension.
        local_ext = "txt" if source_type in PLAIN_TEXT_TYPES else source_type
        src = ctx.workdir / f"source.{local_ext}"
        encrypted = False
        if job.sources:
            src = ctx.workdir / "sources.pdf"
            info = images_to_pdf(ctx, job.sources, src, fetch)
        else:
            info = fetch(ctx, source, src)
            ctx.progress(10, force=True)
            encrypted = check_content(src, source_type, password, ctx.settings.max_xml_ratio)
            if family == Family.WORD:
                src = prepare_comments(ctx, job, src, source_type, password)

        export: PdfExport | None = None
        if family == Family.PDF:
            pdf_path = src
        elif family == Family.EBOOK:
            pdf_path = ebook_to_pdf(src, ctx.workdir / "converted.pdf")
        elif src.suffix == ".pdf":  # converted by a one-off soffice (prepare_comments)
            pdf_path = src
        else:
            pdf_path = ctx.workdir / "converted.pdf"
            try:
                converter: Converter = ctx.resources["converter"]
                quarantine: Quarantine | None = ctx.resources.get("quarantine")
                with quarantine.guard(src, rec.task_id) if quarantine else nullcontext():
                    export = converter.to_pdf(
                        src,
                        pdf_path,
                        password=password,
                        selection=selection,  # all pages for pdf targets (set at submission)
                        map_sheets=target_type != "pdf",
                        options=ExportOptions.for_job(job),
                    )
            except TaskFailure as failure:
                if encrypted and failure.code == "InvalidFile":
                    raise TaskFailure(
                        "InvalidPassword", "The Password does not open the document."
                    ) from failure
                raise
            password = ""  # the exported PDF is not encrypted
        ctx.progress(50, force=True)

        single = target_type == "pdf" or (
            target_type == "txt" and (job.long_text or family == Family.SPREADSHEET)
        )
        namer = Namer(
            job.source,
            rec.tags,
            template=job.target_template,
            prefix=job.target_prefix,
            source_mtime=info.mtime,
            task_start=rec.start_ts,
            single=single,
        )
        doc = pdf_render.open_pdf(pdf_path, password)
        try:
            page_count = export.page_count if export and export.page_count else doc.page_count
            if export and export.pages is not None:
                chosen = list(zip(export.pages, range(doc.page_count), strict=False))
            else:
                chosen = [(p, p - 1) for p in selection.resolve(doc.page_count)]
            if target_type != "pdf" and not chosen:
                raise TaskFailure(
                    "InvalidArgument.PageRange",
                    f"The document has {page_count} pages; none of the requested pages exist.",
                )
            if job.first_page:
                chosen = chosen[:1]
            if splitter is not None and planning.applies(ctx.settings, job, len(chosen), single):
                outs = [
                    PageOut(page, i, str(uri))
                    for page, i, uri in page_targets(namer, chosen, export, job)
                ]
                result = result_fields(source, target_type, page_count, [o.uri for o in outs])
                splitter.start(rec, doc, pdf_path, password, outs, result)  # raises Deferred
            targets = write_outputs(ctx, doc, pdf_path, namer, job, chosen, export, single)
        finally:
            doc.close()
        return result_fields(source, target_type, page_count, [str(u) for u in targets])


def result_fields(
    source: uris.OssUri, target_type: str, page_count: int, targets: list[str]
) -> dict[str, Any]:
    """The task-specific fields of the completion event."""
    return {
        "SourceURI": str(source),
        "TargetType": target_type,
        "PageCount": page_count,
        "TargetCount": len(targets),
        "Targets": [{"URI": u} for u in targets[:MAX_LISTED_TARGETS]],
    }


def check_content(src: Path, source_type: str, password: str, max_xml_ratio: int = 0) -> bool:
    """Refuse content that cannot be of its declared type; True when it is encrypted OOXML."""
    with open(src, "rb") as f:
        head = f.read(65536)
    kind = sniff.kind_of(head)
    problem = sniff.mismatch(source_type, kind)
    if problem is None and kind == sniff.Kind.OLE:
        problem = sniff.compound_file_problem(src)
    if problem is None and kind == sniff.Kind.ZIP:
        problem = sniff.zip_problem(src) or sniff.xml_expansion_problem(src, max_xml_ratio)
    if problem:
        raise TaskFailure(
            "InvalidFile", f"The source is not a valid .{source_type} document: {problem}."
        )
    # The private copy loses its links outside itself (defence in depth:
    # workers/isolation/sandbox.py).
    if kind == sniff.Kind.ZIP:
        removed = links.strip_package(src)
    elif kind == sniff.Kind.TEXT:
        removed = links.strip_flat(src)
    else:
        removed = 0
    if removed:
        log.info("%s: %d reference(s) outside the document removed", src.name, removed)
    if kind == sniff.Kind.RTF:  # the private copy: fields may not pull in the server's files
        data, pulled = rtf_fields.neutralise(src.read_bytes())
        if pulled:
            log.info("%s: %d RTF field(s) that include other files made inert", src.name, pulled)
            src.write_bytes(data)
    encrypted = sniff.is_encrypted_ooxml(src)
    if encrypted and not password:
        raise TaskFailure(
            "PasswordRequired", "The document is encrypted; set Password to convert it."
        )
    return encrypted


def ebook_to_pdf(src: Path, out: Path) -> Path:
    try:
        with pymupdf.open(src) as book:
            data = book.convert_to_pdf()
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        raise TaskFailure("InvalidFile", f"The e-book cannot be opened: {exc}") from exc
    out.write_bytes(data)
    return out


def write_outputs(
    ctx: TaskContext,
    doc: pymupdf.Document,
    pdf_path: Path,
    namer: Namer,
    job: OfficeJob,
    chosen: list[tuple[int, int]],
    export: PdfExport | None,
    single: bool,
) -> list[uris.OssUri]:
    target_type = job.target_type
    if target_type == "pdf":
        out = pdf_path
        if doc.is_encrypted or doc.needs_pass:
            out = ctx.workdir / "decrypted.pdf"
            doc.save(out, encryption=pymupdf.PDF_ENCRYPT_NONE)
        target = namer.uri(index="1", autoext="pdf")
        upload(ctx, out, target)
        return [target]
    if target_type == "txt" and single:
        text = "".join(flow(pdf_render.text(doc, i), job.hold_line_feed) for _, i in chosen)
        out = ctx.workdir / "out.txt"
        out.write_text(text, encoding="utf-8")
        target = namer.uri(index="1", autoext="txt")
        upload(ctx, out, target)
        return [target]

    if target_type in IMAGE_TARGETS and job.long_picture and not job.first_page:
        return write_long_pictures(ctx, doc, namer, job, chosen, export)

    targets: list[uris.OssUri] = []
    outs = page_targets(namer, chosen, export, job)
    for n, (page, i, target) in enumerate(outs, 1):
        out = ctx.workdir / f"page-{n}.{target_type}"
        write_page(doc, job, i, out)
        upload(ctx, out, target)
        out.unlink(missing_ok=True)
        targets.append(target)
        ctx.progress(50 + 49 * n / len(chosen))
        if ctx.on_page is not None:
            ctx.on_page(page, len(outs))
    return targets


def page_targets(
    namer: Namer, chosen: list[tuple[int, int]], export: PdfExport | None, job: OfficeJob
) -> list[tuple[int, int, uris.OssUri]]:
    """(document page, PDF page index, target) of every page-wise output."""
    target_type = job.target_type
    sub_index = sheet_subindexes(export) if export and export.sheets else {}
    # 2017 tasks number every output by its page in the document, spreadsheets too.
    by_page = job.page_index == "document"
    outs = []
    for page, i in chosen:
        sheet = export.sheets.get(page) if export else None
        index = f"{sheet[0]}_{sub_index[page]}" if sheet and not by_page else str(page)
        target = namer.uri(index=index, autoext=target_type, sheetname=sheet[1] if sheet else "")
        outs.append((page, i, target))
    return outs


def write_page(doc: pymupdf.Document, job: OfficeJob, index: int, out: Path) -> None:
    """One page's output: an image (png, jpg) or its text (txt)."""
    target_type = job.target_type
    if target_type in IMAGE_TARGETS:
        pdf_render.render(
            doc,
            index,
            out,
            fmt=target_type,
            dpi=job.dpi,
            scale=job.scale,
            quality=job.quality,
        )
    else:
        out.write_text(flow(pdf_render.text(doc, index), job.hold_line_feed), encoding="utf-8")


def prepare_comments(
    ctx: TaskContext, job: OfficeJob, src: Path, source_type: str, password: str
) -> Path:
    """Word sources: no comment may reach the warm LibreOffice (workers/soffice/comments.py).
    Returns the file to convert: `src` rewritten, or a PDF or docx a one-off soffice made."""
    show = job.show_comments
    if comments.rewrite(src, src, source_type, show=show):
        return src
    if not (oneshot.applies(source_type, password) and comments.binary_has_comments(src)):
        return src
    converter: Converter = ctx.resources["converter"]
    binary, policy = converter.binary, converter.policy
    timeout = ctx.settings.convert_timeout_s
    if not show:
        return oneshot.convert(binary, src, ctx.workdir, timeout, "pdf", policy)
    docx = oneshot.convert(binary, src, ctx.workdir, timeout, "docx", policy)
    comments.rewrite(docx, docx, "docx", show=True)
    return docx


def write_long_pictures(
    ctx: TaskContext,
    doc: pymupdf.Document,
    namer: Namer,
    job: OfficeJob,
    chosen: list[tuple[int, int]],
    export: PdfExport | None,
) -> list[uris.OssUri]:
    """One image of all chosen pages; for spreadsheets, one image per sheet."""
    groups: list[tuple[str, str, list[int]]] = []  # (index, sheet name, PDF page indexes)
    if export and export.sheets:
        for page, i in chosen:
            number, name = export.sheets.get(page, (0, ""))
            if groups and groups[-1][0] == f"{number}_1":
                groups[-1][2].append(i)
            else:
                groups.append((f"{number}_1", name, [i]))
    else:
        groups.append(("1", "", [i for _, i in chosen]))
    targets: list[uris.OssUri] = []
    fmt = job.target_type
    for n, (index, sheet_name, indexes) in enumerate(groups, 1):
        out = ctx.workdir / f"long-{n}.{fmt}"
        long_picture.render(
            doc,
            indexes,
            out,
            fmt=fmt,
            dpi=job.dpi,
            scale=job.scale,
            quality=job.quality,
            crop=bool(export and export.sheets),
        )
        target = namer.uri(index=index, autoext=fmt, sheetname=sheet_name)
        upload(ctx, out, target)
        out.unlink(missing_ok=True)
        targets.append(target)
        ctx.progress(50 + 49 * n / len(groups))
    return targets


def sheet_subindexes(export: PdfExport) -> dict[int, int]:
    """Document page -> its 1-based position within its sheet."""
    seen: dict[int, int] = {}
    out: dict[int, int] = {}
    for page in sorted(export.sheets):
        sheet = export.sheets[page][0]
        seen[sheet] = seen.get(sheet, 0) + 1
        out[page] = seen[sheet]
    return out


PROCESSOR = OfficeConversion()
