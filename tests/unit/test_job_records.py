"""Typed jobs read the records written before them: each record below is what the release
before typed jobs stored for the request beside it (its parse_job's dict, captured), and it
must read back as the very job this release parses from that request. Also what each job
reads and writes (grant checks) and its metric labels."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imm_engine.api.params import Params
from imm_engine.tasktypes import BY_TYPE
from imm_engine.tasktypes.media_convert import MediaConvertJob, VideoOptions

ZIP = "oss://bkt/a.zip"
MP4 = {
    "URI": "oss://bkt/out/{barename}",
    "Container": "mp4",
    "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "320x"}},
    "Audio": {"TranscodeAudio": {"Codec": "aac", "Bitrate": 96000}},
}
MKV = {
    "URI": "oss://bkt/out/a.mkv",
    "Container": "mkv",
    "Video": {"TranscodeVideo": {"Codec": "copy"}},
    "StripMetadata": True,
}
SNAPSHOTS = {
    "Image": {
        "Snapshots": [
            {"URI": "oss://{bucket}/s/{index}.jpg", "Number": 3, "Interval": 1},
            {"URI": "oss://bkt/t.png", "Format": "png", "Width": 160},
        ]
    }
}

#: (task type, request, record stored before typed jobs, reads, writes, metric labels)
CASES = [
    pytest.param(
        "FileCompression",
        {"Sources": [{"URI": "oss://bkt/dir/"},
                     {"URI": "oss://bkt/a/b.txt", "Mode": "fullname", "Alias": "/c.txt"}],
         "TargetURI": "oss://bkt/out.zip"},
        {"format": "zip", "target": "oss://bkt/out.zip",
         "rules": [{"bucket": "bkt", "key": "dir/", "mode": "prefix", "alias": ""},
                   {"bucket": "bkt", "key": "a/b.txt", "mode": "fullname", "alias": "/c.txt"}]},
        ["oss://bkt/dir/", "oss://bkt/a/b.txt"], ["oss://bkt/out.zip"], ("", "zip"),
        id="compression-rules",
    ),
    pytest.param(
        "FileCompression",
        {"SourceManifestURI": "oss://bkt/m.json", "TargetURI": "oss://bkt/out.zip"},
        {"format": "zip", "target": "oss://bkt/out.zip", "manifest": "oss://bkt/m.json"},
        ["oss://bkt/m.json"], ["oss://bkt/out.zip"], ("", "zip"),
        id="compression-manifest",
    ),
    pytest.param(
        "FileUncompression",
        {"SourceURI": ZIP, "SelectedFiles": ["/x/", "y.txt"], "Password": "pw"},
        {"source": ZIP, "target_prefix": "oss://bkt/a/", "selected": ["x", "y.txt"],
         "password": "pw"},
        [ZIP], ["oss://bkt/a/"], ("", ""),
        id="uncompression",
    ),
    pytest.param(
        "ArchiveFileInspection", {"SourceURI": ZIP}, {"source": ZIP, "password": ""},
        [ZIP], [], ("", ""),
        id="inspection",
    ),
    pytest.param(
        "ImageSplicing",
        {"Sources": [{"URI": "oss://bkt/a.png"}, {"URI": "oss://bkt/b.jpg", "Rotate": 90}],
         "TargetURI": "oss://bkt/o.png", "ImageFormat": "png", "Align": "300", "Margin": "4",
         "BackgroundColor": "alpha"},
        {"sources": [{"URI": "oss://bkt/a.png", "Rotate": 0},
                     {"URI": "oss://bkt/b.jpg", "Rotate": 90}],
         "target": "oss://bkt/o.png", "direction": "vertical", "image_format": "png",
         "quality": 80, "scale_type": "fit", "align": 300, "margin": 4, "padding": 0,
         "background": "alpha"},
        ["oss://bkt/a.png", "oss://bkt/b.jpg"], ["oss://bkt/o.png"], ("", "png"),
        id="splicing",
    ),
    pytest.param(
        "ImageSplicing",
        {"Sources": [{"URI": "oss://bkt/a.png"}], "TargetURI": "oss://bkt/o.jpg"},
        {"sources": [{"URI": "oss://bkt/a.png", "Rotate": 0}], "target": "oss://bkt/o.jpg",
         "direction": "vertical", "image_format": "jpg", "quality": 80, "scale_type": "fit",
         "align": None, "margin": 0, "padding": 0, "background": "#FFFFFF"},
        ["oss://bkt/a.png"], ["oss://bkt/o.jpg"], ("", "jpg"),
        id="splicing-defaults",
    ),
    pytest.param(
        "MediaConvert",
        {"Sources": [{"URI": "oss://bkt/in.mov", "StartTime": 1.5}],
         "Targets": [MP4, MKV, SNAPSHOTS]},
        {"source": {"URI": "oss://bkt/in.mov", "StartTime": 1.5, "Duration": 0.0,
                    "DisableVideo": False, "DisableAudio": False},
         "targets": [
             {"Video": {"Codec": "h264", "Scale": [320, -2], "Bitrate": None, "CRF": None,
                        "FrameRate": None, "GOPSize": None, "PixelFormat": None},
              "Audio": {"Codec": "aac", "Bitrate": 96000, "SampleRate": None, "Channel": None},
              "Snapshots": [], "StripMetadata": False, "URI": "oss://bkt/out/{barename}",
              "Container": "mp4"},
             {"Video": {"Codec": "copy"}, "Audio": None, "Snapshots": [],
              "StripMetadata": True, "URI": "oss://bkt/out/a.mkv", "Container": "mkv"},
             {"Video": None, "Audio": None,
              "Snapshots": [
                  {"URI": "oss://{bucket}/s/{index}.jpg", "Format": "jpg", "Mode": "interval",
                   "StartTime": 0.0, "Number": 3, "Interval": 1.0, "Width": None,
                   "Height": None, "ScaleType": "stretch"},
                  {"URI": "oss://bkt/t.png", "Format": "png", "Mode": "interval",
                   "StartTime": 0.0, "Number": 1, "Interval": None, "Width": 160,
                   "Height": None, "ScaleType": "stretch"}],
              "StripMetadata": False}]},
        ["oss://bkt/in.mov"],
        ["oss://bkt/out/{barename}", "oss://bkt/out/a.mkv", "oss://bkt/in.mov",
         "oss://bkt/t.png"],
        ("", "mp4"),
        id="media",
    ),
]  # fmt: skip


def params(values: dict[str, Any]) -> Params:
    return Params((k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items())


@pytest.mark.parametrize(("task_type", "request_", "record", "reads", "writes", "labels"), CASES)
def test_records_written_before_read_as_the_parsed_job(
    task_type: str,
    request_: dict[str, Any],
    record: dict[str, Any],
    reads: list[str],
    writes: list[str],
    labels: tuple[str, str],
) -> None:
    declared = BY_TYPE[task_type]
    job = declared.parse(params(request_), {})
    old = declared.read_job(json.loads(json.dumps(record)))
    assert old == job
    assert declared.read_job(json.loads(json.dumps(job.to_record()))) == job
    assert (job.reads(), job.writes(), job.metric_labels()) == (reads, writes, labels)


def test_keys_of_a_newer_release_are_ignored_and_missing_ones_take_defaults() -> None:
    record = {
        "source": {"URI": "oss://b/in.mov", "Loop": 2},
        "targets": [{"URI": "oss://b/o.mp4", "Container": "mp4", "Video": {"Codec": "copy"},
                     "Burn": True}],
        "priority": 9,
    }  # fmt: skip
    job = BY_TYPE["MediaConvert"].read_job(record)
    assert isinstance(job, MediaConvertJob)
    assert (job.source.URI, job.source.StartTime, job.source.DisableVideo) == (
        "oss://b/in.mov",
        0.0,
        False,
    )
    [target] = job.targets
    assert target.Video == VideoOptions("copy")
    assert (target.Audio, target.Snapshots, target.StripMetadata) == (None, [], False)
    old = BY_TYPE["FileUncompression"].read_job({"source": ZIP, "target_prefix": "oss://b/a/"})
    assert old.to_record() == {
        "source": ZIP,
        "target_prefix": "oss://b/a/",
        "selected": [],
        "password": "",
    }


@pytest.mark.parametrize(
    ("containers", "label"),
    [(["mp4", "mp3"], "mp4"), (["../../etc"], "other"), ([None], "other")],
)
def test_media_label_is_the_first_container_or_other(
    containers: list[str | None], label: str
) -> None:
    targets = [{"URI": "oss://b/o", "Container": c} if c else {"Snapshots": []} for c in containers]
    job = BY_TYPE["MediaConvert"].read_job({"source": {"URI": "oss://b/i.mov"}, "targets": targets})
    assert job.metric_labels() == ("", label)
    assert BY_TYPE["MediaConvert"].read_job(
        {"source": {"URI": "oss://b/i.mov"}, "targets": []}
    ).metric_labels() == ("", "other")


def test_splicing_label_is_bounded() -> None:
    record = {
        "sources": [{"URI": "oss://b/a.png"}], "target": "oss://b/o.bmp", "direction": "vertical",
        "image_format": "bmp", "quality": 80, "scale_type": "fit", "margin": 0, "padding": 0,
        "background": "#FFFFFF",
    }  # fmt: skip
    assert BY_TYPE["ImageSplicing"].read_job(record).metric_labels() == ("", "other")
