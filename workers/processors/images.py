"""Loading source images for the image tasks: fetched, decoded and checked with Pillow."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from imm_engine.errors import TaskFailure

#: Largest image (in pixels) a source or an output may have.
MAX_PIXELS = 100_000_000


def open_image(path: Path, name: str) -> Image.Image:
    """Decode the whole image (first frame); TaskFailure when it is not an image or too big."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.width * img.height > MAX_PIXELS:
                raise TaskFailure(
                    "InvalidFile.TooLarge",
                    f"{name} is {img.width}x{img.height}; at most {MAX_PIXELS} pixels are allowed.",
                )
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TaskFailure("InvalidFile.TooLarge", f"{name} is too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise TaskFailure("InvalidFile", f"{name} is not a readable image: {exc}") from exc
    return img


def image_size(path: Path, name: str) -> tuple[int, int]:
    """Width and height from the header alone, before anything is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except Image.DecompressionBombError as exc:
        raise TaskFailure("InvalidFile.TooLarge", f"{name} is too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise TaskFailure("InvalidFile", f"{name} is not a readable image: {exc}") from exc


def rotated(img: Image.Image, degrees: int) -> Image.Image:
    """Rotate clockwise by 0, 90, 180 or 270 degrees (IMM's Rotate)."""
    if degrees == 90:
        return img.transpose(Image.Transpose.ROTATE_270)
    if degrees == 180:
        return img.transpose(Image.Transpose.ROTATE_180)
    if degrees == 270:
        return img.transpose(Image.Transpose.ROTATE_90)
    return img
