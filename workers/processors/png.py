"""PNG encoding of rendered pages: libpng through imagecodecs, at zlib level 1.

Measured on the corpus (bench/png_encoding.py, docs/benchmarks.md "PNG encoding"; encoders
taking turns page by page): PyMuPDF's own `Pixmap.save(..., "png")` offers no compression
level; imagecodecs' libpng at level 1 encodes the same pixels in 0.85x its time with files
1.07x as large (the fastest within the 10% we allow); Pillow at levels 1-3 was no faster than
PyMuPDF within the noise (0.94-0.98x), libspng slower and larger, fpng 7x faster but 2.4x
larger. Pixels are identical whichever encoder writes them.
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pymupdf

COMPRESS_LEVEL = 1


def save(pix: pymupdf.Pixmap, out: Path) -> None:
    """Write `pix` to `out` as PNG. Gray and RGB without alpha (every page the workers render)
    go through libpng; anything else as before through PyMuPDF (its alpha is premultiplied)."""
    if pix.alpha or pix.n not in (1, 3):
        pix.save(str(out), output="png")
        return
    rows = np.frombuffer(pix.samples_mv, dtype=np.uint8).reshape(pix.height, pix.stride)
    pixels = rows[:, : pix.width * pix.n].reshape(pix.height, pix.width, pix.n)
    out.write_bytes(imagecodecs.png_encode(pixels, level=COMPRESS_LEVEL))
