"""`LongPicture`: several PDF pages rendered into one tall image, top to bottom (PyMuPDF).

Pages keep their own width; narrower ones are centred on white. Spreadsheet sheets are laid
out by LibreOffice as one oversized page each and cropped here to what is printed on them.
The image is bounded like every page image (`pdf_render.MAX_PIXELS`), and JPEG cannot be
taller or wider than 65,535 pixels; past either limit the task fails with
`InvalidArgument.LongPicture` rather than exhausting memory.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

from imm_engine.errors import TaskFailure
from workers.processors import png
from workers.processors.pdf_render import DEFAULT_JPG_QUALITY, MAX_PIXELS

MAX_JPEG_SIDE = 65_535
#: Space kept around the content of a cropped page, in points (5 mm).
CROP_PADDING = 14.0


def content_rect(page: pymupdf.Page) -> pymupdf.Rect:
    """The part of `page` anything is drawn on, with a little padding; the page if blank."""
    area = pymupdf.Rect()
    for _kind, bbox in page.get_bboxlog():
        rect = pymupdf.Rect(bbox)
        if not rect.is_empty and rect.is_valid:
            area |= rect
    if area.is_empty:
        return pymupdf.Rect(page.rect)
    padded = pymupdf.Rect(
        area.x0 - CROP_PADDING,
        area.y0 - CROP_PADDING,
        area.x1 + CROP_PADDING,
        area.y1 + CROP_PADDING,
    )
    return padded & page.rect


def render(
    doc: pymupdf.Document,
    indexes: list[int],
    out: Path,
    *,
    fmt: str,
    dpi: int,
    scale: int,
    quality: int | None,
    crop: bool = False,
) -> tuple[int, int]:
    """Render pages `indexes` (0-based) of `doc` one under another into `out`; the size."""
    zoom = dpi / 72.0 * scale / 100.0
    matrix = pymupdf.Matrix(zoom, zoom)
    clips = [content_rect(doc[i]) if crop else pymupdf.Rect(doc[i].rect) for i in indexes]
    sizes = [(clip * matrix).irect for clip in clips]
    width = max(r.width for r in sizes)
    height = sum(r.height for r in sizes)
    _check(width, height, fmt, len(indexes))
    pixmaps = []
    for i, clip in zip(indexes, clips, strict=True):
        pix = doc[i].get_pixmap(matrix=matrix, clip=clip, alpha=False)
        pixmaps.append(pix if pix.n == 3 else pymupdf.Pixmap(pymupdf.csRGB, pix))
    width = max(p.width for p in pixmaps)  # the estimate above can be a pixel off
    height = sum(p.height for p in pixmaps)
    canvas = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    canvas.clear_with(255)  # white (set_rect is pixel by pixel in Python: far slower)
    y = 0
    for pix in pixmaps:
        pix.set_origin((width - pix.width) // 2, y)
        canvas.copy(pix, pix.irect)
        y += pix.height
    pixmaps.clear()
    if fmt == "jpg":
        canvas.save(
            str(out),
            output="jpg",
            jpg_quality=quality if quality is not None else DEFAULT_JPG_QUALITY,
        )
    else:
        png.save(canvas, out)
    return canvas.width, canvas.height


def _check(width: int, height: int, fmt: str, pages: int) -> None:
    if width * height > MAX_PIXELS:
        raise TaskFailure(
            "InvalidArgument.LongPicture",
            f"The long picture of {pages} page(s) would be {width}x{height} pixels, above "
            f"{MAX_PIXELS // 1_000_000} megapixels; select fewer pages (IMM: at most 20) "
            "or lower ImageDPI or ScalePercentage.",
        )
    if fmt == "jpg" and max(width, height) > MAX_JPEG_SIDE:
        raise TaskFailure(
            "InvalidArgument.LongPicture",
            f"The long picture of {pages} page(s) would be {width}x{height} pixels; JPEG "
            f"images cannot exceed {MAX_JPEG_SIDE} pixels a side. Use png, fewer pages, or "
            "a lower ImageDPI.",
        )
