"""MediaConvert through the official SDK, with ffmpeg; the media are generated here (lavfi)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from PIL import Image

from tests.support.needs import need
from tests.support.service import Receiver, Service
from tests.support.task_runs import BUCKET, failed, run_dir, submit, succeeded

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

T = m.CreateMediaConvertTaskRequestTargets
S = m.CreateMediaConvertTaskRequestSources


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """4 s of 320x240 test pattern (mpeg4) with a 440 Hz tone (PCM) in a .mov."""
    need(shutil.which("ffmpeg") is not None, "ffmpeg (Debian package ffmpeg)")
    out = tmp_path_factory.mktemp("media") / "clip.mov"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
         "-c:v", "mpeg4", "-c:a", "pcm_s16le", "-shortest", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    info: dict[str, Any] = json.loads(out.stdout)
    return info


def streams(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["codec_type"]: s for s in info["streams"]}


def convert(client: Client, receiver: Receiver, sources: list[Any], targets: list[Any]) -> Any:
    request = m.CreateMediaConvertTaskRequest(sources=sources, targets=targets)
    return submit(client, receiver, client.create_media_convert_task, request)[1]


def test_transcode_to_mp4_h264_aac_with_a_time_range(
    service: Service, client: Client, receiver: Receiver, clip: bytes
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/clip.mov", clip)
    target = T(
        uri=f"oss://{BUCKET}/{run}/out/{{barename}}",  # no extension: the container's is added
        container="mp4",
        video=m.TargetVideo(
            transcode_video=m.TargetVideoTranscodeVideo(codec="h264", resolution="160x", crf=28)
        ),
        audio=m.TargetAudio(
            transcode_audio=m.TargetAudioTranscodeAudio(codec="aac", bitrate=64000)
        ),
    )

    content = succeeded(
        convert(client, receiver, [S(uri=source, start_time=1, duration=2)], [target])
    )

    uri = f"oss://{BUCKET}/{run}/out/clip.mp4"
    [result] = content["Targets"]
    assert result["URI"] == uri
    info = probe(service.object(uri))
    assert info["format"]["format_name"].startswith("mov,mp4")
    found = streams(info)
    assert found["video"]["codec_name"] == "h264"
    assert (found["video"]["width"], found["video"]["height"]) == (160, 120)
    assert found["audio"]["codec_name"] == "aac"
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.15)
    assert result["Duration"] == pytest.approx(2.0, abs=0.15)
    assert content["Sources"] == [{"URI": source, "Duration": 4.0}]


def test_audio_to_mp3_and_snapshots(
    service: Service, client: Client, receiver: Receiver, clip: bytes
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/clip.mov", clip)
    mp3 = T(
        uri=f"oss://{BUCKET}/{run}/out/sound.mp3",
        container="mp3",
        audio=m.TargetAudio(
            transcode_audio=m.TargetAudioTranscodeAudio(codec="mp3", sample_rate=22050, channel=1)
        ),
    )
    snaps = T(
        image=m.TargetImage(
            snapshots=[
                m.TargetImageSnapshots(
                    uri=f"oss://{BUCKET}/{run}/snap/{{index}}.jpg",
                    start_time=0.5,
                    number=3,
                    interval=1,
                    width=160,
                ),
                m.TargetImageSnapshots(
                    uri=f"oss://{BUCKET}/{run}/snap/cover.{{autoext}}", format="png"
                ),
            ]
        )
    )

    content = succeeded(convert(client, receiver, [S(uri=source)], [mp3, snaps]))

    info = probe(service.object(f"oss://{BUCKET}/{run}/out/sound.mp3"))
    found = streams(info)
    assert list(found) == ["audio"]
    assert found["audio"]["codec_name"] == "mp3"
    assert (int(found["audio"]["sample_rate"]), found["audio"]["channels"]) == (22050, 1)
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.15)

    shots = content["Targets"][1]["Snapshots"]
    assert [s["URI"].rsplit("/", 1)[-1] for s in shots] == ["1.jpg", "2.jpg", "3.jpg", "cover.png"]
    assert [s["Time"] for s in shots] == [0.5, 1.5, 2.5, 0.0]
    for shot in shots[:3]:
        img = Image.open(service.object(shot["URI"]))
        img.load()
        assert img.format == "JPEG" and img.size == (160, 120)
    cover = Image.open(service.object(shots[3]["URI"]))
    cover.load()
    assert cover.format == "PNG" and cover.size == (320, 240)
    # Different moments of the moving test pattern: different pictures.
    frames = [service.object(s["URI"]).read_bytes() for s in shots[:3]]
    assert len(set(frames)) == 3


PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize(
    "data",
    [b"this is not a video" * 100, PLAYLIST],  # a playlist would make ffmpeg open other files
    ids=["garbage", "hls-playlist"],
)
def test_not_a_media_file_fails(
    service: Service, client: Client, receiver: Receiver, data: bytes
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/fake.mp4", data)
    target = T(
        uri=f"oss://{BUCKET}/{run}/out.mp4",
        container="mp4",
        audio=m.TargetAudio(transcode_audio=m.TargetAudioTranscodeAudio(codec="aac")),
    )
    failed(convert(client, receiver, [S(uri=source)], [target]), "InvalidFile")
    assert not service.object(f"oss://{BUCKET}/{run}/out.mp4").exists()


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        (T(uri=f"oss://{BUCKET}/x.m3u8", container="ts",
           segment=m.CreateMediaConvertTaskRequestTargetsSegment(format="hls", duration=5),
           video=m.TargetVideo(transcode_video=m.TargetVideoTranscodeVideo(codec="h264"))),
         "Segment"),
        (T(uri=f"oss://{BUCKET}/x.mp4", container="mp4",
           video=m.TargetVideo(transcode_video=m.TargetVideoTranscodeVideo(codec="av1"))),
         "Codec"),
        (T(image=m.TargetImage(sprites=[m.TargetImageSprites(uri=f"oss://{BUCKET}/s.jpg")])),
         "Sprites"),
    ],
)  # fmt: skip
def test_unsupported_options_are_refused_by_name(
    client: Client, target: Any, fragment: str
) -> None:
    request = m.CreateMediaConvertTaskRequest(
        project_name="test-project", sources=[S(uri=f"oss://{BUCKET}/in.mov")], targets=[target]
    )
    with pytest.raises(Exception) as err:
        client.create_media_convert_task(request)
    assert getattr(err.value, "code", None) == "InvalidArgument"
    assert fragment in str(err.value)
