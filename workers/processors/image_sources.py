"""`Sources`: images, in the order given, become the pages of one PDF (PyMuPDF).

Each image is one page of its own size at its own resolution (96 dpi when it records none,
so ImageDPI 96 gives its pixels back), turned by its `Rotate`.
The PDF then goes through the same path as a PDF source: png/jpg pages, LongPicture, or the
PDF itself.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image, UnidentifiedImageError

from imm_engine.errors import TaskFailure
from imm_engine.storage.base import ObjectInfo
from imm_engine.targets import uris
from workers.processors.base import TaskContext


def images_to_pdf(
    ctx: TaskContext, sources: list[dict[str, Any]], out: Path, fetch: Any
) -> ObjectInfo:
    """Fetch every image with `fetch(ctx, uri, path)` and write the PDF to `out`; returns the
    first image's object information (its time names the outputs)."""
    first: ObjectInfo | None = None
    with pymupdf.open() as pdf:
        for n, item in enumerate(sources, 1):
            uri = uris.parse_object(item["URI"], "Sources")
            path = ctx.workdir / f"source-{n}.{uri.ext.lower() or 'img'}"
            info = fetch(ctx, uri, path)
            first = first or info
            try:
                with pymupdf.open("pdf", image_pdf(path)) as page_pdf:
                    pdf.insert_pdf(page_pdf)
            except (pymupdf.FileDataError, RuntimeError, ValueError, OSError) as exc:
                raise TaskFailure(
                    "InvalidFile", f"Sources item {n} ({uri}) is not a readable image: {exc}"
                ) from exc
            finally:
                path.unlink(missing_ok=True)
            rotate = int(item.get("Rotate", 0))
            if rotate:
                page = pdf[pdf.page_count - 1]
                page.set_rotation((page.rotation + rotate) % 360)
            ctx.progress(10 + 40 * n / len(sources))
        pdf.save(out)
    assert first is not None  # Sources is never empty (checked at submission)
    return first


def image_pdf(path: Path) -> bytes:
    """One image as a one-page PDF. MuPDF reads most formats; what it cannot (webp) goes
    through Pillow as PNG, keeping the image's resolution when it records one."""
    try:
        with pymupdf.open(path) as image:
            return bytes(image.convert_to_pdf())
    except (pymupdf.FileDataError, RuntimeError) as first:
        try:
            with Image.open(path) as img:
                buf = io.BytesIO()
                img.save(buf, format="PNG", dpi=img.info.get("dpi", (96, 96)))
        except (UnidentifiedImageError, OSError, ValueError):
            raise first from None
    with pymupdf.open("png", buf.getvalue()) as image:
        return bytes(image.convert_to_pdf())
