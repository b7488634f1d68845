"""ImageToPDF: each source image becomes one page of a PDF, in order.

A page is as large as its (rotated) image at 72 dpi (one pixel, one point). JPEG and PNG
sources are embedded as they are; other raster formats are decoded with Pillow and embedded
losslessly as PNG; SVG is converted to vector PDF by PyMuPDF.
"""

from __future__ import annotations

import io
from typing import Any

import pymupdf

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.targets import uris
from imm_engine.tasktypes import image_to_pdf
from imm_engine.tasktypes.image_to_pdf import ImageToPDFJob
from workers.processors.base import TaskContext
from workers.processors.images import open_image
from workers.processors.objects import fetch, upload

_AS_IS = {"jpg", "jpeg", "png"}


def add_page(
    pdf: pymupdf.Document, ctx: TaskContext, uri: uris.OssUri, rotate: int, n: int
) -> None:
    src = ctx.workdir / f"image-{n}.{uri.ext}"
    fetch(ctx, uri, src)
    if uri.ext == "svg":
        add_svg(pdf, src.read_bytes(), rotate, str(uri))
        src.unlink(missing_ok=True)
        return
    img = open_image(src, str(uri))
    width, height = img.size
    if uri.ext in _AS_IS and img.format in ("JPEG", "PNG"):
        stream = src.read_bytes()
    else:
        buf = io.BytesIO()
        frame = img if img.mode in ("RGB", "RGBA", "L", "LA") else img.convert("RGBA")
        frame.save(buf, "PNG")
        stream = buf.getvalue()
    img.close()
    src.unlink(missing_ok=True)
    if rotate in (90, 270):
        width, height = height, width
    page = pdf.new_page(width=width, height=height)
    # PyMuPDF rotates counter-clockwise; IMM's Rotate is clockwise.
    page.insert_image(page.rect, stream=stream, rotate=(360 - rotate) % 360, keep_proportion=False)


def add_svg(pdf: pymupdf.Document, data: bytes, rotate: int, name: str) -> None:
    try:
        with pymupdf.open(stream=data, filetype="svg") as svg:
            converted = pymupdf.open("pdf", svg.convert_to_pdf())
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        raise TaskFailure("InvalidFile", f"{name} is not a readable SVG image: {exc}") from exc
    with converted:
        rect = converted[0].rect
        width, height = (
            (rect.height, rect.width) if rotate in (90, 270) else (rect.width, rect.height)
        )
        page = pdf.new_page(width=width, height=height)
        page.show_pdf_page(page.rect, converted, 0, rotate=(360 - rotate) % 360)


class ImageToPDF:
    task_type = image_to_pdf.TASK_TYPE

    def run(self, job: ImageToPDFJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        sources = job.sources
        target = uris.parse_object(job.target, "TargetURI")
        pdf = pymupdf.open()
        try:
            for n, source in enumerate(sources, 1):
                uri = uris.parse_object(source["URI"], "Sources.URI")
                add_page(pdf, ctx, uri, int(source.get("Rotate", 0)), n)
                ctx.progress(95 * n / len(sources))
            out = ctx.workdir / "out.pdf"
            pdf.save(out, garbage=3, deflate=True)
            page_count = pdf.page_count
        finally:
            pdf.close()
        upload(ctx, out, target)
        return {"TargetURI": str(target), "PageCount": page_count}


PROCESSOR = ImageToPDF()
