"""Submission-time validation of the non-office task types (imm_engine/tasktypes/*)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imm_engine.api.params import Params, refusal
from imm_engine.errors import ApiError, InvalidValue
from imm_engine.tasktypes import (
    BY_ACTION,
    archive_inspection,
    file_compression,
    file_uncompression,
    image_splicing,
    image_to_pdf,
    media_convert,
)


def params(**values: Any) -> Params:
    return Params((k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items())


def refused(parse: Any, values: dict[str, Any]) -> ApiError:
    """The error the API answers with (a value refused by a parser is mapped as it does)."""
    try:
        parse(params(**values), {})
    except InvalidValue as err:
        return refusal(err)
    except ApiError as err:
        return err
    pytest.fail(f"{values} accepted")


IMG = [{"URI": "oss://bkt/a.png"}, {"URI": "oss://bkt/b.jpg", "Rotate": 90}]


def test_every_action_is_registered_with_its_queue() -> None:
    queues = {a: s.queue for a, s in BY_ACTION.items()}
    assert queues == {
        "CreateOfficeConversionTask": "office",
        "CreateImageToPDFTask": "files",
        "CreateFileCompressionTask": "files",
        "CreateFileUncompressionTask": "files",
        "CreateArchiveFileInspectionTask": "files",
        "CreateImageSplicingTask": "files",
        "CreateMediaConvertTask": "media",
    }


# --- ImageToPDF ---------------------------------------------------------------------------


def test_image_to_pdf_job() -> None:
    job = image_to_pdf.parse_job(params(Sources=IMG, TargetURI="oss://bkt/out/x.pdf"), {})
    assert job.to_record() == {
        "sources": [
            {"URI": "oss://bkt/a.png", "Rotate": 0},
            {"URI": "oss://bkt/b.jpg", "Rotate": 90},
        ],
        "target": "oss://bkt/out/x.pdf",
    }


@pytest.mark.parametrize(
    ("values", "code", "fragment"),
    [
        ({"TargetURI": "oss://bkt/x.pdf"}, "MissingSources", "Sources"),
        ({"Sources": IMG}, "MissingTargetURI", "TargetURI"),
        ({"Sources": [], "TargetURI": "oss://bkt/x.pdf"}, "InvalidArgument", "no images"),
        ({"Sources": "not json", "TargetURI": "oss://bkt/x.pdf"}, "InvalidJSON", "Sources"),
        ({"Sources": {"URI": "x"}, "TargetURI": "oss://bkt/x.pdf"}, "InvalidArgument", "array"),
        ({"Sources": [{"URI": "oss://bkt/a.gif"}], "TargetURI": "oss://bkt/x.pdf"},
         "InvalidArgument", "'.gif'"),
        ({"Sources": [{"URI": "oss://bkt/a.png", "Rotate": 45}], "TargetURI": "oss://bkt/x.pdf"},
         "InvalidArgument", "Rotate"),
        ({"Sources": [{"URI": "oss://bkt/a.png", "Crop": 1}], "TargetURI": "oss://bkt/x.pdf"},
         "InvalidArgument", "Crop"),
        ({"Sources": [{"URI": "oss://bkt/../a.png"}], "TargetURI": "oss://bkt/x.pdf"},
         "InvalidArgument", "'..'"),
        ({"Sources": [{"URI": "oss://bkt/a.png"}] * 101, "TargetURI": "oss://bkt/x.pdf"},
         "InvalidArgument", "at most 100"),
        ({"Sources": IMG, "TargetURI": "oss://bkt/dir/"}, "InvalidArgument", "directory"),
    ],
)  # fmt: skip
def test_image_to_pdf_refusals(values: dict[str, Any], code: str, fragment: str) -> None:
    err = refused(image_to_pdf.parse_job, values)
    assert err.code == code
    assert fragment in err.message


# --- ImageSplicing ------------------------------------------------------------------------


def test_image_splicing_defaults() -> None:
    job = image_splicing.parse_job(params(Sources=IMG, TargetURI="oss://bkt/o.jpg"), {})
    assert job.direction == "vertical"
    assert job.image_format == "jpg"
    assert job.quality == 80
    assert job.scale_type == "fit"
    assert (job.align, job.margin, job.padding) == (None, 0, 0)
    assert job.background == "#FFFFFF"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"Direction": "diagonal"}, "Direction"),
        ({"ImageFormat": "gif"}, "ImageFormat"),
        ({"Quality": "101"}, "Quality"),
        ({"ScaleType": "crop"}, "ScaleType"),
        ({"Align": "0"}, "Align"),
        ({"Align": "4097"}, "Align"),
        ({"Margin": "-1"}, "Margin"),
        ({"BackgroundColor": "#12345"}, "BackgroundColor"),
        ({"BackgroundColor": "notacolour"}, "BackgroundColor"),
        ({"BackgroundColor": "alpha"}, "alpha"),  # jpg has no transparency
    ],
)
def test_image_splicing_refusals(extra: dict[str, str], fragment: str) -> None:
    err = refused(
        image_splicing.parse_job, {"Sources": IMG, "TargetURI": "oss://bkt/o.jpg", **extra}
    )
    assert err.code == "InvalidArgument"
    assert fragment in err.message


def test_image_splicing_accepts_alpha_for_png_and_colour_names() -> None:
    for colour in ("alpha", "red", "#ff000080"):
        job = image_splicing.parse_job(
            params(Sources=IMG, TargetURI="oss://bkt/o.png", ImageFormat="png",
                   BackgroundColor=colour), {}
        )  # fmt: skip
        assert job.background == colour


# --- FileCompression ----------------------------------------------------------------------


def test_file_compression_rules() -> None:
    job = file_compression.parse_job(
        params(
            Sources=[
                {"URI": "oss://bkt/dir/"},
                {"URI": "oss://bkt/a/b.txt", "Mode": "fullname", "Alias": "/c.txt"},
            ],
            TargetURI="oss://bkt/out.zip",
        ),
        {},
    )
    assert job.to_record() == {
        "format": "zip",
        "target": "oss://bkt/out.zip",
        "rules": [
            {"bucket": "bkt", "key": "dir/", "mode": "prefix", "alias": ""},
            {"bucket": "bkt", "key": "a/b.txt", "mode": "fullname", "alias": "/c.txt"},
        ],
    }


def test_file_compression_manifest() -> None:
    job = file_compression.parse_job(
        params(SourceManifestURI="oss://bkt/m.json", TargetURI="oss://bkt/out.zip"), {}
    )
    assert job.manifest == "oss://bkt/m.json"


@pytest.mark.parametrize(
    ("values", "code", "fragment"),
    [
        ({"TargetURI": "oss://bkt/o.zip"}, "MissingSources", "Sources"),
        ({"Sources": [{"URI": "oss://bkt/a"}], "SourceManifestURI": "oss://bkt/m.json",
          "TargetURI": "oss://bkt/o.zip"}, "InvalidArgument", "not both"),
        ({"Sources": [{"URI": "oss://bkt/a"}]}, "MissingTargetURI", "TargetURI"),
        ({"Sources": [{"URI": "oss://bkt/a"}], "TargetURI": "oss://bkt/o.zip",
          "CompressedFormat": "rar"}, "InvalidArgument", "only zip"),
        ({"Sources": [{"URI": "oss://bkt/a", "Mode": "glob"}], "TargetURI": "oss://bkt/o.zip"},
         "InvalidArgument", "Mode"),
        ({"Sources": [{"URI": "oss://bkt/d/", "Mode": "fullname"}], "TargetURI": "oss://bkt/o.zip"},
         "InvalidArgument", "directory"),
        ({"Sources": [{"URI": "oss://bkt/a", "Alias": "x"}], "TargetURI": "oss://bkt/o.zip"},
         "InvalidArgument", "start with '/'"),
        ({"Sources": [{"URI": "oss://bkt/a", "Alias": "/../x"}], "TargetURI": "oss://bkt/o.zip"},
         "InvalidArgument", "'..'"),
        ({"Sources": [{"URI": "oss://bkt/a"}] * 101, "TargetURI": "oss://bkt/o.zip"},
         "InvalidArgument", "at most 100"),
    ],
)  # fmt: skip
def test_file_compression_refusals(values: dict[str, Any], code: str, fragment: str) -> None:
    err = refused(file_compression.parse_job, values)
    assert err.code == code
    assert fragment in err.message


@pytest.mark.parametrize(
    ("rule", "key", "name"),
    [
        (("dir/", "prefix", ""), "dir/sub/a.txt", "dir/sub/a.txt"),  # no alias: the key
        (("dir/", "prefix", "/"), "dir/sub/a.txt", "a.txt"),  # flatten
        (("dir/", "prefix", "/new/"), "dir/sub/a.txt", "new/sub/a.txt"),  # re-root
        (("di", "prefix", "/new/"), "dir/a.txt", "new/dir/a.txt"),  # prefix mid-name
        (("a/b.txt", "fullname", "/c.txt"), "a/b.txt", "c.txt"),  # rename
        (("a/b.txt", "fullname", "/x/y/"), "a/b.txt", "x/y/b.txt"),  # move
        (("a/b.txt", "fullname", "/x/y.doc"), "a/b.txt", "x/y.doc"),  # move and rename
    ],
)
def test_entry_names(rule: tuple[str, str, str], key: str, name: str) -> None:
    prefix, mode, alias = rule
    assert file_compression.entry_name(file_compression.Rule("b", prefix, mode, alias), key) == name


# --- FileUncompression / ArchiveFileInspection --------------------------------------------


@pytest.mark.parametrize(
    ("values", "prefix", "selected"),
    [
        ({"SourceURI": "oss://bkt/d/a.zip"}, "oss://bkt/d/a/", []),
        ({"SourceURI": "oss://bkt/a.zip"}, "oss://bkt/a/", []),
        ({"SourceURI": "oss://bkt/a.zip", "TargetURI": "oss://bkt/out"}, "oss://bkt/out/", []),
        ({"SourceURI": "oss://bkt/a.zip", "SelectedFiles": ["/x/", "y.txt"]}, "oss://bkt/a/",
         ["x", "y.txt"]),
    ],
)  # fmt: skip
def test_file_uncompression_job(values: dict[str, Any], prefix: str, selected: list[str]) -> None:
    job = file_uncompression.parse_job(params(**values), {})
    assert job.target_prefix == prefix
    assert job.selected == selected


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({}, "MissingSourceURI"),
        ({"SourceURI": "oss://bkt/a.zip", "TargetURI": "oss://bkt/../x/"}, "InvalidArgument"),
        ({"SourceURI": "oss://bkt/a.zip", "SelectedFiles": "x"}, "InvalidJSON"),
        ({"SourceURI": "oss://bkt/a.zip", "SelectedFiles": [""]}, "InvalidArgument"),
        ({"SourceURI": "oss://bkt/a.zip", "SelectedFiles": [1]}, "InvalidArgument"),
        ({"SourceURI": "oss://bkt/a.zip", "SelectedFiles": ["a"] * 1001}, "InvalidArgument"),
    ],
)
def test_file_uncompression_refusals(values: dict[str, Any], code: str) -> None:
    assert refused(file_uncompression.parse_job, values).code == code


def test_archive_inspection() -> None:
    job = archive_inspection.parse_job(params(SourceURI="oss://bkt/a.zip", Password="pw"), {})
    assert job.to_record() == {"source": "oss://bkt/a.zip", "password": "pw"}
    assert refused(archive_inspection.parse_job, {}).code == "MissingSourceURI"


# --- MediaConvert -------------------------------------------------------------------------

SRC = [{"URI": "oss://bkt/in.mov"}]
MP4 = {
    "URI": "oss://bkt/out/{barename}",
    "Container": "mp4",
    "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "320x"}},
    "Audio": {"TranscodeAudio": {"Codec": "aac", "Bitrate": 96000}},
}


def test_media_convert_job() -> None:
    job = media_convert.parse_job(params(Sources=SRC, Targets=[MP4]), {})
    record = job.to_record()
    assert record["source"] == {
        "URI": "oss://bkt/in.mov", "StartTime": 0.0, "Duration": 0.0,
        "DisableVideo": False, "DisableAudio": False,
    }  # fmt: skip
    [target] = record["targets"]
    assert target["Container"] == "mp4"
    assert target["Video"]["Codec"] == "h264"
    assert target["Video"]["Scale"] == [320, -2]
    assert target["Audio"] == {
        "Codec": "aac",
        "Bitrate": 96000,
        "SampleRate": None,
        "Channel": None,
    }
    assert media_convert.TASK_TYPE.read_job(record) == job


def test_empty_lists_from_the_sdk_count_as_unset() -> None:
    """The SDK sends `"Subtitles": []` for every source; that is not a request for subtitles."""
    sources = [{"URI": "oss://bkt/in.mov", "Subtitles": []}]
    job = media_convert.parse_job(params(Sources=sources, Targets=[MP4]), {})
    assert job.source.URI == "oss://bkt/in.mov"


def test_media_convert_snapshot_only_target() -> None:
    snaps = {"Snapshots": [{"URI": "oss://bkt/s/{index}.jpg", "Number": 3, "Interval": 1}]}
    job = media_convert.parse_job(params(Sources=SRC, Targets=[{"Image": snaps}]), {})
    [target] = job.targets
    assert target.Video is None and target.Audio is None
    assert target.Snapshots[0].Number == 3


def _with(path: str, value: Any) -> dict[str, Any]:
    target = json.loads(json.dumps(MP4))
    *parents, last = path.split(".")
    node = target
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return target


@pytest.mark.parametrize(
    ("sources", "target", "fragment"),
    [
        (SRC * 2, MP4, "concatenating"),
        ([{"URI": "oss://bkt/in.mov", "Subtitles": [{"URI": "oss://bkt/s.srt"}]}], MP4,
         "Subtitles"),
        (SRC, _with("Segment", {"Format": "hls"}), "Segment"),
        (SRC, _with("Speed", 0.5), "Speed"),
        (SRC, _with("Container", "avi"), "Container"),
        (SRC, _with("Container", "mp3"), "audio only"),
        (SRC, _with("Video.TranscodeVideo.Codec", "av1"), "Codec"),
        (SRC, _with("Video.TranscodeVideo.Resolution", "big"), "Resolution"),
        (SRC, _with("Video.TranscodeVideo.ScaleType", "crop"), "ScaleType"),
        (SRC, _with("Video.TranscodeVideo.CRF", 23), "not both"),  # MP4 has no Bitrate: fine
        (SRC, _with("Video.FilterVideo", {"Watermarks": []}), "FilterVideo"),
        (SRC, _with("Audio.TranscodeAudio.Quality", 50), "Quality"),
        (SRC, _with("Image", {"Sprites": [{"URI": "oss://bkt/s.jpg"}]}), "Sprites"),
        (SRC, _with("Image", {"Snapshots": [{"URI": "oss://bkt/s.jpg", "Number": 2}]}), "{index}"),
        (SRC, _with("Image", {"Snapshots": [{"URI": "oss://bkt/{index}.jpg", "Mode": "keyframe"}]}),
         "keyframe"),
        (SRC, _with("URI", "oss://bkt/{nope}"), "nope"),
        (SRC, {"URI": "oss://bkt/x.mp4", "Container": "mp4"}, "produces nothing"),
    ],
)  # fmt: skip
def test_media_convert_refusals(sources: Any, target: dict[str, Any], fragment: str) -> None:
    if fragment == "not both":
        target = _with("Video.TranscodeVideo.Bitrate", 1_000_000)
        target["Video"]["TranscodeVideo"]["CRF"] = 23
    err = refused(media_convert.parse_job, {"Sources": sources, "Targets": [target]})
    assert err.code == "InvalidArgument"
    assert fragment in err.message


def test_media_convert_accepts_options_at_their_defaults() -> None:
    target = _with("Video.TranscodeVideo.ScaleType", "stretch")
    target["Video"]["TranscodeVideo"]["BitrateOption"] = "fixed"
    media_convert.parse_job(params(Sources=SRC, Targets=[target]), {})


# --- settings -----------------------------------------------------------------------------


def test_task_type_settings() -> None:
    from imm_engine.settings import Settings, SettingsError

    s = Settings.from_env(
        {
            "IMM_ARCHIVE_MAX_ENTRIES": "10",
            "IMM_ARCHIVE_MAX_BYTES": "1000",
            "IMM_ARCHIVE_MAX_RATIO": "50",
            "IMM_COMPRESS_MAX_FILES": "7",
            "IMM_COMPRESS_MAX_BYTES": "2000",
            "IMM_MEDIA_TIMEOUT": "12.5",
        }
    )
    assert (s.archive_max_entries, s.archive_max_bytes, s.archive_max_ratio) == (10, 1000, 50)
    assert (s.compress_max_files, s.compress_max_bytes, s.media_timeout_s) == (7, 2000, 12.5)
    d = Settings.from_env({})
    assert (d.archive_max_entries, d.archive_max_ratio, d.media_timeout_s) == (80_000, 500, 240.0)
    with pytest.raises(SettingsError, match="IMM_ARCHIVE_MAX_RATIO"):
        Settings.from_env({"IMM_ARCHIVE_MAX_RATIO": "1"})
