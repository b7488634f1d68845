"""Pure parts of the image and media processors: splicing layout, ffmpeg command lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imm_engine.targets import templates
from imm_engine.tasktypes.media_convert import (
    AudioOptions,
    MediaSource,
    MediaTarget,
    Snapshot,
    VideoOptions,
    output_uri,
)
from workers.processors import media
from workers.processors.splicing import layout


@pytest.mark.parametrize(
    ("kwargs", "canvas", "boxes"),
    [
        # vertical, fit to the first width (100): 200x50 -> 100x25
        ({"vertical": True, "align": None, "stretch": False, "margin": 0, "padding": 0},
         (100, 75), [(0, 0, 100, 50), (0, 50, 100, 25)]),
        # stretch keeps the height, margin and padding add up
        ({"vertical": True, "align": 80, "stretch": True, "margin": 5, "padding": 3},
         (90, 5 + 50 + 3 + 50 + 5), [(5, 5, 80, 50), (5, 58, 80, 50)]),
        # horizontal, fit to the first height (50): 200x50 stays
        ({"vertical": False, "align": None, "stretch": False, "margin": 0, "padding": 10},
         (100 + 10 + 200, 50), [(0, 0, 100, 50), (110, 0, 200, 50)]),
    ],
)  # fmt: skip
def test_layout(kwargs: dict[str, Any], canvas: tuple[int, int], boxes: list[Any]) -> None:
    assert layout([(100, 50), (200, 50)], **kwargs) == (canvas, boxes)


SOURCE = MediaSource(URI="oss://b/in.mov", StartTime=1.5, Duration=2.0)
MP4 = MediaTarget(
    Container="mp4",
    Video=VideoOptions(Codec="h264", Scale=[320, -2], CRF=23.0, FrameRate=None),
    Audio=AudioOptions(Codec="aac", Bitrate=96000, SampleRate=44100, Channel=2),
    StripMetadata=True,
)


def test_transcode_args_mp4() -> None:
    args = media.transcode_args(Path("in.mov"), Path("out.mp4"), SOURCE, MP4)
    line = " ".join(args)
    assert line.startswith("ffmpeg ")
    assert "-ss 1.500 -t 2.000 -protocol_whitelist file -format_whitelist mov," in line
    assert " -i in.mov " in line
    assert "-map 0:v:0? -map 0:a:0?" in line
    assert "-c:v libx264 -vf scale=320:-2 -crf 23" in line
    assert "-c:a aac -b:a 96000 -ar 44100 -ac 2" in line
    assert "-map_metadata -1" in line
    assert line.endswith("-movflags +faststart -f mp4 out.mp4")


def test_transcode_args_audio_only() -> None:
    target = MediaTarget(Container="mp3", Video=None, Audio=AudioOptions(Codec="mp3"))
    args = media.transcode_args(Path("in"), Path("out"), MediaSource(URI="x"), target)
    assert "-vn" in args and "-map" in args and "0:v:0?" not in args
    assert args[args.index("-c:a") + 1] == "libmp3lame"
    assert args[-3:] == ["-f", "mp3", "out"]


def test_disabled_source_video_drops_it() -> None:
    args = media.transcode_args(Path("i"), Path("o"), MediaSource("x", DisableVideo=True), MP4)
    assert "-vn" in args and "libx264" not in args


@pytest.mark.parametrize(
    ("snap", "duration", "times"),
    [
        ({"StartTime": 0, "Number": 1}, 5.0, [0.0]),
        ({"StartTime": 1, "Number": 3, "Interval": 1.5}, 10.0, [1.0, 2.5, 4.0]),
        ({"StartTime": 0, "Number": 4, "Interval": 2}, 5.0, [0.0, 2.0, 4.0]),  # none past the end
        ({"StartTime": 0, "Number": 4}, 8.0, [0.0, 2.0, 4.0, 6.0]),  # no interval: spread out
        ({"StartTime": 2, "Number": 2, "Mode": "average", "Interval": 9}, 6.0, [2.0, 4.0]),
        ({"StartTime": 9, "Number": 1}, 5.0, []),
    ],
)
def test_snapshot_times(snap: dict[str, Any], duration: float, times: list[float]) -> None:
    assert media.snapshot_times(Snapshot(URI="oss://b/{index}.jpg", **snap), duration) == times


def test_snapshot_args_scale_and_format() -> None:
    snap = Snapshot(URI="oss://b/s.png", Format="png", Width=160, Height=None, ScaleType="stretch")
    args = media.snapshot_args(Path("i"), Path("o.png"), 1.25, snap)
    line = " ".join(args)
    assert "-ss 1.250 -protocol_whitelist file" in line
    assert "-i i -frames:v 1" in line
    assert "-vf scale=160:-2" in line
    assert "-c:v png" in line


@pytest.mark.parametrize(
    ("uri", "rendered"),
    [
        ("oss://bkt/out/{barename}", "oss://bkt/out/clip.mp4"),
        ("oss://bkt/out/{barename}.mov", "oss://bkt/out/clip.mov"),
        ("oss://bkt/out/x.{autoext}", "oss://bkt/out/x.mp4"),
    ],
)
def test_output_uri_gets_the_container_extension(uri: str, rendered: str) -> None:
    values = {"barename": "clip", "autoext": "mp4"}
    assert str(output_uri(templates.parse(uri), values, {}, "mp4")) == rendered
