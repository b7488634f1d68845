"""PNG encoders for rendered pages: time and size against today's (PyMuPDF's `Pixmap.save`).

Runnable alone: `.venv/bin/python -m bench.png_encoding [--corpus DIR] [--max-pages N]`.
Every page is rendered once at 96 DPI (the service's default) without alpha, as the worker
does; then the encoders take turns on each page, `--repeat` passes, and each page's best
time is kept (the least disturbed by other processes). Encoders whose package is not
installed are skipped and named. The table is in docs/benchmarks.md ("PNG encoding").
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pymupdf

Encoder = Callable[[pymupdf.Pixmap], bytes]
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
DPI = 96


def _mupdf(pix: pymupdf.Pixmap) -> bytes:
    return bytes(pix.tobytes("png"))


def _pillow(level: int, optimize: bool = False) -> Encoder:
    def encode(pix: pymupdf.Pixmap) -> bytes:
        from PIL import Image

        img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=level, optimize=optimize)
        return out.getvalue()

    return encode


def _array(pix: pymupdf.Pixmap) -> object:
    import numpy as np

    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)


def _imagecodecs(level: int) -> Encoder:
    def encode(pix: pymupdf.Pixmap) -> bytes:
        import imagecodecs

        return bytes(imagecodecs.png_encode(_array(pix), level=level))

    return encode


def _spng(level: int) -> Encoder:
    def encode(pix: pymupdf.Pixmap) -> bytes:
        import pyspng

        return bytes(pyspng.encode(_array(pix), compress_level=level))

    return encode


def _fpng(pix: pymupdf.Pixmap) -> bytes:
    import fpng

    return bytes(fpng.from_ndarray(_array(pix)))


#: name -> (module that must be importable, encoder). The first is today's.
ENCODERS: dict[str, tuple[str, Encoder]] = {
    "pymupdf (today)": ("pymupdf", _mupdf),
    "pillow level 1": ("PIL", _pillow(1)),
    "pillow level 2": ("PIL", _pillow(2)),
    "pillow level 3": ("PIL", _pillow(3)),
    "pillow level 4": ("PIL", _pillow(4)),
    "pillow level 6 (Pillow's default)": ("PIL", _pillow(6)),
    "pillow optimize": ("PIL", _pillow(9, optimize=True)),
    "imagecodecs (libpng) level 1": ("imagecodecs", _imagecodecs(1)),
    "imagecodecs (libpng) level 2": ("imagecodecs", _imagecodecs(2)),
    "imagecodecs (libpng) level 3": ("imagecodecs", _imagecodecs(3)),
    "pyspng-seunglab level 1": ("pyspng", _spng(1)),
    "pyspng-seunglab level 3": ("pyspng", _spng(3)),
    "pyspng-seunglab level 6": ("pyspng", _spng(6)),
    "fpng": ("fpng", _fpng),
}


def available(module: str) -> bool:
    try:
        __import__(module)
    except Exception:
        return False
    return True


def handbook_pdf(corpus: Path, workdir: Path) -> Path | None:
    """handbook-872p.docx as LibreOffice lays it out (430 pages), converted once."""
    soffice = shutil.which("soffice")
    src = corpus / "handbook-872p.docx"
    if soffice is None or not src.exists():
        return None
    profile = workdir / "profile"
    argv = [soffice, f"-env:UserInstallation=file://{profile}", "--headless"]
    subprocess.run(
        [*argv, "--convert-to", "pdf", "--outdir", str(workdir), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    out = workdir / "handbook-872p.pdf"
    return out if out.exists() else None


def pages_of(pdf: Path, max_pages: int) -> list[pymupdf.Pixmap]:
    """Up to `max_pages` pages, spread evenly over the document."""
    with pymupdf.open(pdf) as doc:
        step = max(1, doc.page_count // max_pages)
        zoom = DPI / 72.0
        return [
            doc[i].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            for i in range(0, doc.page_count, step)[:max_pages]
        ]


def measure(
    pixmaps: list[pymupdf.Pixmap], encoders: dict[str, Encoder], repeat: int
) -> dict[str, tuple[float, int]]:
    """Per encoder: total encode time (each page's best of `repeat`) and total size.

    Encoders take turns page by page, so a burst of load from other processes falls on all
    of them alike rather than on whichever ran during it."""
    best = {name: [float("inf")] * len(pixmaps) for name in encoders}
    size = dict.fromkeys(encoders, 0)
    for _ in range(repeat):
        for i, pix in enumerate(pixmaps):
            for name, encode in encoders.items():
                started = time.perf_counter()
                data = encode(pix)
                best[name][i] = min(best[name][i], time.perf_counter() - started)
                size[name] += len(data)
    return {name: (sum(best[name]), size[name] // repeat) for name in encoders}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--max-pages", type=int, default=40, help="pages per document (40)")
    p.add_argument("--repeat", type=int, default=3, help="passes per encoder, best kept (3)")
    p.add_argument("--no-handbook", action="store_true", help="skip the docx's PDF")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="imm-png-bench-") as tmp:
        pdfs = sorted(args.corpus.glob("*.pdf"))
        if not args.no_handbook:
            hb = handbook_pdf(args.corpus, Path(tmp))
            if hb:
                pdfs.append(hb)
        pixmaps: list[pymupdf.Pixmap] = []
        for pdf in pdfs:
            try:
                got = pages_of(pdf, args.max_pages)
            except (pymupdf.FileDataError, RuntimeError, ValueError):
                continue  # encrypted or damaged: not a rendering case
            pixmaps += got
            print(f"{pdf.name}: {len(got)} pages", file=sys.stderr)
        megapixels = sum(p.width * p.height for p in pixmaps) / 1e6
        print(f"{len(pixmaps)} pages, {megapixels:.1f} megapixels at {DPI} DPI\n")
        print("| encoder | ms per page | size (MB) | size vs today | time vs today |")
        print("|---|---:|---:|---:|---:|")
        usable = {name: enc for name, (module, enc) in ENCODERS.items() if available(module)}
        for name in ENCODERS.keys() - usable.keys():
            print(f"| {name} | not installed | | | |")
        results = measure(pixmaps, usable, args.repeat)
        base_s, base_size = results[next(iter(results))]
        for name, (seconds, size) in results.items():
            print(
                f"| {name} | {seconds / len(pixmaps) * 1000:.1f} | {size / 1e6:.2f} | "
                f"{size / base_size:.2f}x | {seconds / base_s:.2f}x |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
