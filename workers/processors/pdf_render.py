"""PDF pages to PNG/JPG images and text, with PyMuPDF."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from imm_engine.errors import TaskFailure
from workers.processors import png

#: Largest image we render, in pixels (about 300 MB of RGB in memory).
MAX_PIXELS = 100_000_000
DEFAULT_JPG_QUALITY = 80


def open_pdf(path: Path, password: str) -> pymupdf.Document:
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        raise TaskFailure("InvalidFile", f"The PDF cannot be opened: {exc}") from exc
    if doc.needs_pass:
        if not password:
            raise TaskFailure(
                "PasswordRequired", "The document is encrypted; set Password to convert it."
            )
        if not doc.authenticate(password):
            raise TaskFailure("InvalidPassword", "The Password does not open the document.")
    if doc.page_count == 0:
        raise TaskFailure("InvalidFile", "The PDF has no pages (damaged or empty).")
    return doc


def render(
    doc: pymupdf.Document,
    index: int,
    out: Path,
    *,
    fmt: str,
    dpi: int,
    scale: int,
    quality: int | None,
) -> tuple[int, int]:
    """Render page `index` (0-based) to `out`; returns the image size."""
    page = doc[index]
    zoom = dpi / 72.0 * scale / 100.0
    rect = page.rect
    pixels = rect.width * zoom * rect.height * zoom
    if pixels > MAX_PIXELS:
        raise TaskFailure(
            "InvalidArgument.ImageDPI",
            f"Page {index + 1} would be a {int(rect.width * zoom)}x{int(rect.height * zoom)} "
            "image, "
            f"above {MAX_PIXELS // 1_000_000} megapixels; lower ImageDPI or ScalePercentage.",
        )
    try:
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
    except Exception as exc:  # MuPDF's allocation failure (FzErrorSystem/FzErrorMemory)
        if "malloc" in str(exc) or "memory" in str(exc).lower():
            raise MemoryError(str(exc)) from exc
        raise
    if fmt == "jpg":
        pix.save(
            str(out),
            output="jpg",
            jpg_quality=quality if quality is not None else DEFAULT_JPG_QUALITY,
        )
    else:
        png.save(pix, out)
    return pix.width, pix.height


def text(doc: pymupdf.Document, index: int) -> str:
    return str(doc[index].get_text("text"))
