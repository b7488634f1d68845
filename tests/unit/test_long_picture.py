"""LongPicture: pages stacked into one image (workers/processors/long_picture.py)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from imm_engine.errors import TaskFailure
from workers.processors import long_picture


def pdf(*sizes: tuple[float, float]) -> pymupdf.Document:
    doc = pymupdf.open()
    for width, height in sizes:
        page = doc.new_page(width=width, height=height)
        page.draw_rect(pymupdf.Rect(10, 10, 20, 20), color=(0, 0, 0), fill=(0, 0, 0))
    return doc


def test_pages_stacked_and_centred(tmp_path: Path) -> None:
    out = tmp_path / "long.png"
    size = long_picture.render(
        pdf((72, 144), (36, 72)), [0, 1], out, fmt="png", dpi=144, scale=100, quality=None
    )
    assert size == (144, 288 + 144)
    with Image.open(out) as img:
        assert img.size == size
        assert img.getpixel((30, 30)) == (0, 0, 0)  # page 1's square, top left
        assert img.getpixel((36 + 30, 288 + 30)) == (0, 0, 0)  # page 2's, centred
        assert img.getpixel((5, 288 + 5)) == (255, 255, 255)  # white beside page 2


def test_crop_to_content(tmp_path: Path) -> None:
    out = tmp_path / "crop.png"
    width, height = long_picture.render(
        pdf((1000, 1000)), [0], out, fmt="png", dpi=72, scale=100, quality=None, crop=True
    )
    padding = 2 * long_picture.CROP_PADDING
    assert width <= 20 + padding and height <= 20 + padding


@pytest.mark.parametrize(
    ("sizes", "fmt", "dpi"),
    [
        ([(595, 842)] * 40, "png", 300),  # above 100 megapixels
        ([(100, 842)] * 80, "jpg", 200),  # 187,000 px tall, 52 megapixels: too tall for jpg
    ],
)
def test_too_large_fails_clearly(
    tmp_path: Path, sizes: list[tuple[float, float]], fmt: str, dpi: int
) -> None:
    doc = pdf(*sizes)
    with pytest.raises(TaskFailure) as err:
        long_picture.render(
            doc, list(range(doc.page_count)), tmp_path / f"x.{fmt}", fmt=fmt, dpi=dpi,
            scale=100, quality=None,
        )  # fmt: skip
    assert err.value.code == "InvalidArgument.LongPicture"
