"""PNG encoding of rendered pages: Pillow at zlib level 3.

Measured on the corpus (bench/png_encoding.py, docs/benchmarks.md "PNG encoding"): PyMuPDF's
own `Pixmap.save(..., "png")` (zlib's default level, no choice offered) spends most of a
page's time compressing; Pillow at level 3 writes files a few percent larger (within the 10%
we allow) in about two thirds of the time, and Pillow is already a dependency. Levels 1-2
save a little more time but grow files past that. Other encoders from PyPI were slower
(libspng), far larger (fpng) or a 80 MB dependency for a similar gain (imagecodecs' libpng).
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from PIL import Image

COMPRESS_LEVEL = 3
#: (components, alpha) -> Pillow mode.
_MODES = {(1, False): "L", (3, False): "RGB", (4, True): "RGBA"}


def save(pix: pymupdf.Pixmap, out: Path) -> None:
    """Write `pix` (gray, RGB or RGBA) to `out` as PNG."""
    mode = _MODES.get((pix.n, bool(pix.alpha)))
    if mode is None:  # CMYK and the like: PyMuPDF converts them itself
        pix.save(str(out), output="png")
        return
    size = (pix.width, pix.height)
    image = Image.frombuffer(mode, size, pix.samples_mv, "raw", mode, pix.stride, 1)
    image.save(out, "PNG", compress_level=COMPRESS_LEVEL)
