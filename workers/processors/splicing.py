"""ImageSplicing: images stitched top to bottom (vertical) or left to right (horizontal).

Every image is scaled to the aligned width (vertical) or height (horizontal): `Align`, or the
first image's. `fit` keeps the aspect ratio; `stretch` changes only the aligned side. Images
are `Padding` apart, the whole is surrounded by `Margin`, and the gaps are `BackgroundColor`.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageColor

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.targets import uris
from imm_engine.tasktypes import image_splicing
from imm_engine.tasktypes.image_splicing import ImageSplicingJob
from workers.processors.base import TaskContext
from workers.processors.images import MAX_PIXELS, image_size, open_image, rotated
from workers.processors.objects import fetch, upload

#: Largest side each output format can hold.
MAX_SIDE = {"jpg": 65_500, "png": 65_500, "webp": 16_383}
PIL_FORMAT = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def layout(
    sizes: list[tuple[int, int]],
    *,
    vertical: bool,
    align: int | None,
    stretch: bool,
    margin: int,
    padding: int,
) -> tuple[tuple[int, int], list[tuple[int, int, int, int]]]:
    """Canvas size and each image's (x, y, width, height) on it (pure)."""
    first_w, first_h = sizes[0]
    side = align or (first_w if vertical else first_h)
    boxes: list[tuple[int, int, int, int]] = []
    pos = margin
    for w, h in sizes:
        if vertical:
            nh = h if stretch else max(1, round(h * side / w))
            boxes.append((margin, pos, side, nh))
            pos += nh + padding
        else:
            nw = w if stretch else max(1, round(w * side / h))
            boxes.append((pos, margin, nw, side))
            pos += nw + padding
    length = pos - padding + margin
    canvas = (side + 2 * margin, length) if vertical else (length, side + 2 * margin)
    return canvas, boxes


class ImageSplicing:
    task_type = image_splicing.TASK_TYPE

    def run(self, job: ImageSplicingJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        target = uris.parse_object(job.target, "TargetURI")
        fmt = job.image_format
        paths = []
        sizes = []
        for n, source in enumerate(job.sources, 1):
            uri = uris.parse_object(source["URI"], "Sources.URI")
            src = ctx.workdir / f"image-{n}.{uri.ext}"
            fetch(ctx, uri, src)
            rotate = int(source.get("Rotate", 0))
            width, height = image_size(src, str(uri))
            sizes.append((height, width) if rotate in (90, 270) else (width, height))
            paths.append((src, uri, rotate))
            ctx.progress(40 * n / len(job.sources))
        canvas_size, boxes = layout(
            sizes,
            vertical=job.direction == "vertical",
            align=job.align,
            stretch=job.scale_type == "stretch",
            margin=job.margin,
            padding=job.padding,
        )
        width, height = canvas_size
        if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE[fmt]:
            raise TaskFailure(
                "InvalidArgument.TooLarge",
                f"The spliced image would be {width}x{height}; {fmt} allows at most "
                f"{MAX_SIDE[fmt]} pixels a side and {MAX_PIXELS} pixels in all.",
            )
        background = job.background
        colour = (0, 0, 0, 0) if background.lower() == "alpha" else ImageColor.getrgb(background)
        canvas = Image.new("RGBA", canvas_size, colour)
        # One source decoded at a time: memory is the canvas plus one image.
        for n, ((src, uri, rotate), (x, y, w, h)) in enumerate(zip(paths, boxes, strict=True)):
            img = rotated(open_image(src, str(uri)), rotate).convert("RGBA")
            part = img if img.size == (w, h) else img.resize((w, h), Image.Resampling.LANCZOS)
            canvas.alpha_composite(part, (x, y))
            img.close()
            src.unlink(missing_ok=True)
            ctx.progress(40 + 50 * (n + 1) / len(paths))
        out = ctx.workdir / f"out.{fmt}"
        if fmt == "jpg":
            canvas.convert("RGB").save(out, "JPEG", quality=job.quality)
        elif fmt == "webp":
            canvas.save(out, "WEBP", quality=job.quality)
        else:
            canvas.save(out, "PNG")
        upload(ctx, out, target)
        return {"TargetURI": str(target), "Width": width, "Height": height}


PROCESSOR = ImageSplicing()
