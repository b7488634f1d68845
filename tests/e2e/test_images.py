"""ImageToPDF and ImageSplicing through the official SDK, with images generated here."""

from __future__ import annotations

import io
from typing import Any

import pymupdf
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from PIL import Image

from tests.support.service import Receiver, Service
from tests.support.task_runs import BUCKET, failed, run_dir, submit, succeeded

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 160, 0), (0, 0, 255), (255, 255, 255)


def picture(size: tuple[int, int], colour: tuple[int, int, int], fmt: str) -> bytes:
    """A solid image with a black 10x10 square in its top-left corner (to see rotations)."""
    img = Image.new("RGB", size, colour)
    img.paste((0, 0, 0), (0, 0, 10, 10))
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def decoded(service: Service, uri: str) -> Image.Image:
    img = Image.open(service.object(uri))
    img.load()  # decodes the whole image, not only the header
    return img


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 30) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


# --- ImageToPDF ---------------------------------------------------------------------------


def test_images_to_pdf_one_page_each_in_order(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    sources = [
        (service.put(BUCKET, f"{run}/1.png", picture((200, 100), RED, "PNG")), 0),
        (service.put(BUCKET, f"{run}/2.jpg", picture((300, 400), GREEN, "JPEG")), 90),
        (service.put(BUCKET, f"{run}/3.webp", picture((50, 60), BLUE, "WEBP")), 0),
        (service.put(BUCKET, f"{run}/4.bmp", picture((64, 32), RED, "BMP")), 180),
        (service.put(BUCKET, f"{run}/5.tiff", picture((40, 30), GREEN, "TIFF")), 270),
    ]
    target = f"oss://{BUCKET}/{run}/out/book.pdf"
    Src = m.CreateImageToPDFTaskRequestSources
    request = m.CreateImageToPDFTaskRequest(
        sources=[Src(uri=u, rotate=r) for u, r in sources], target_uri=target
    )

    _, delivery = submit(client, receiver, client.create_image_to_pdftask, request)

    content = succeeded(delivery)
    assert content["PageCount"] == 5
    assert content["TargetURI"] == target
    with pymupdf.open(service.object(target)) as pdf:
        assert pdf.page_count == 5
        sizes = [(round(p.rect.width), round(p.rect.height)) for p in pdf]
        assert sizes == [(200, 100), (400, 300), (50, 60), (64, 32), (30, 40)]
        colours = []
        corners = []
        for page in pdf:
            pix = page.get_pixmap()
            colours.append(pix.pixel(pix.width // 2, pix.height // 2))
            corners.append(
                [
                    pix.pixel(x, y)
                    for x, y in (
                        (2, 2),
                        (pix.width - 3, 2),
                        (pix.width - 3, pix.height - 3),
                        (2, pix.height - 3),
                    )
                ]
            )
    for got, want in zip(colours, [RED, GREEN, BLUE, RED, GREEN], strict=True):
        assert close(got, want), (colours,)
    black = (0, 0, 0)
    # Rotate is clockwise: the black top-left corner moves to top-right (90),
    # bottom-right (180) and bottom-left (270).
    assert close(corners[0][0], black)
    assert close(corners[1][1], black) and not close(corners[1][0], black)
    assert close(corners[3][2], black) and not close(corners[3][0], black)
    assert close(corners[4][3], black) and not close(corners[4][0], black)


def test_image_to_pdf_svg_and_a_broken_image(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
        b'<rect width="120" height="80" fill="#0000ff"/></svg>'
    )
    good = service.put(BUCKET, f"{run}/v.svg", svg)
    Src = m.CreateImageToPDFTaskRequestSources
    target = f"oss://{BUCKET}/{run}/svg.pdf"
    request = m.CreateImageToPDFTaskRequest(sources=[Src(uri=good)], target_uri=target)
    _, delivery = submit(client, receiver, client.create_image_to_pdftask, request)
    succeeded(delivery)
    with pymupdf.open(service.object(target)) as pdf:
        assert (round(pdf[0].rect.width), round(pdf[0].rect.height)) == (120, 80)

    broken = service.put(BUCKET, f"{run}/broken.png", b"\x89PNG\r\n\x1a\n not really")
    request = m.CreateImageToPDFTaskRequest(
        sources=[Src(uri=good), Src(uri=broken)], target_uri=f"oss://{BUCKET}/{run}/no.pdf"
    )
    _, delivery = submit(client, receiver, client.create_image_to_pdftask, request)
    assert "broken.png" in failed(delivery, "InvalidFile")
    assert not service.object(f"oss://{BUCKET}/{run}/no.pdf").exists()


def test_image_to_pdf_missing_source(service: Service, client: Client, receiver: Receiver) -> None:
    run = run_dir()
    Src = m.CreateImageToPDFTaskRequestSources
    request = m.CreateImageToPDFTaskRequest(
        sources=[Src(uri=f"oss://{BUCKET}/{run}/none.png")],
        target_uri=f"oss://{BUCKET}/{run}/x.pdf",
    )
    _, delivery = submit(client, receiver, client.create_image_to_pdftask, request)
    failed(delivery, "ResourceNotFound")


def test_image_to_pdf_bad_request_is_refused_at_once(client: Client) -> None:
    Src = m.CreateImageToPDFTaskRequestSources
    request = m.CreateImageToPDFTaskRequest(
        project_name="test-project",
        sources=[Src(uri=f"oss://{BUCKET}/a.png", rotate=45)],
        target_uri=f"oss://{BUCKET}/x.pdf",
    )
    with pytest.raises(Exception) as err:
        client.create_image_to_pdftask(request)
    assert getattr(err.value, "code", None) == "InvalidArgument"
    assert "Rotate" in str(err.value)


# --- ImageSplicing ------------------------------------------------------------------------


def splice(client: Client, receiver: Receiver, **kwargs: Any) -> Any:
    request = m.CreateImageSplicingTaskRequest(**kwargs)
    return submit(client, receiver, client.create_image_splicing_task, request)[1]


def test_vertical_splice_fit_with_margin_and_padding(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    a = service.put(BUCKET, f"{run}/a.png", picture((200, 100), RED, "PNG"))
    b = service.put(BUCKET, f"{run}/b.jpg", picture((400, 100), BLUE, "JPEG"))
    target = f"oss://{BUCKET}/{run}/out.png"
    Src = m.CreateImageSplicingTaskRequestSources

    content = succeeded(
        splice(
            client,
            receiver,
            sources=[Src(uri=a), Src(uri=b)],
            target_uri=target,
            image_format="png",
            margin=10,
            padding=6,
            background_color="#00FF00",
        )
    )

    img = decoded(service, target).convert("RGB")
    # width 200 (the first image); b is scaled to 200x50; 10 + 100 + 6 + 50 + 10
    assert img.size == (220, 176)
    assert (content["Width"], content["Height"]) == img.size
    assert img.getpixel((5, 5)) == (0, 255, 0)  # margin
    assert img.getpixel((100, 112)) == (0, 255, 0)  # padding between the two
    assert close(img.getpixel((100, 60)), RED)
    assert close(img.getpixel((100, 140)), BLUE)


def test_horizontal_splice_jpg_with_align_and_rotation(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    a = service.put(BUCKET, f"{run}/a.png", picture((100, 200), RED, "PNG"))
    b = service.put(BUCKET, f"{run}/b.png", picture((100, 50), BLUE, "PNG"))  # rotated: 50x100
    target = f"oss://{BUCKET}/{run}/out.jpg"
    Src = m.CreateImageSplicingTaskRequestSources

    succeeded(
        splice(
            client,
            receiver,
            sources=[Src(uri=a), Src(uri=b, rotate=90)],
            target_uri=target,
            direction="horizontal",
            align=100,
            quality=90,
        )
    )

    img = decoded(service, target)
    assert img.format == "JPEG"
    # height 100: a becomes 50x100, rotated b (50x100) stays
    assert img.size == (100, 100)
    assert close(img.getpixel((25, 50)), RED)
    assert close(img.getpixel((75, 50)), BLUE)


def test_splice_stretch_and_transparent_webp(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    a = service.put(BUCKET, f"{run}/a.png", picture((80, 40), RED, "PNG"))
    b = service.put(BUCKET, f"{run}/b.png", picture((20, 30), BLUE, "PNG"))
    target = f"oss://{BUCKET}/{run}/out.webp"
    Src = m.CreateImageSplicingTaskRequestSources

    succeeded(
        splice(
            client,
            receiver,
            sources=[Src(uri=a), Src(uri=b)],
            target_uri=target,
            image_format="webp",
            scale_type="stretch",
            margin=4,
            background_color="alpha",
        )
    )

    img = decoded(service, target)
    assert img.format == "WEBP"
    assert img.size == (80 + 8, 40 + 30 + 8)  # stretch: heights unchanged
    assert img.convert("RGBA").getpixel((1, 1))[3] == 0  # transparent margin


def test_splice_too_large_fails_before_decoding(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    a = service.put(BUCKET, f"{run}/a.png", picture((10, 10), RED, "PNG"))
    Src = m.CreateImageSplicingTaskRequestSources
    target = f"oss://{BUCKET}/{run}/wide.webp"

    task_id, delivery = submit(
        client,
        receiver,
        client.create_image_splicing_task,
        m.CreateImageSplicingTaskRequest(
            sources=[Src(uri=a)] * 5,
            target_uri=target,
            direction="horizontal",
            align=4096,  # 5 x 4096 px wide: past webp's 16383
            image_format="webp",
        ),
    )

    assert "20480x4096" in failed(delivery, "InvalidArgument.TooLarge")
    assert not service.object(target).exists()
    task = client.get_task(
        m.GetTaskRequest(project_name="test-project", task_type="ImageSplicing", task_id=task_id)
    ).body
    assert (task.status, task.code) == ("Failed", "InvalidArgument.TooLarge")
