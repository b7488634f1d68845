"""CreateMediaConvertTask, the common cases: one source (optionally a time range of it), and per
target a transcoded file (mp4/mkv/mov/ts/flv with h264, h265, vp9 or copy; audio-only mp3, aac,
flac, oga, opus) and/or jpg/png snapshots at given times.

IMM's semantics kept: a target without `Video.TranscodeVideo` has no video stream and one
without `Audio.TranscodeAudio` no audio stream; a target URI without an extension gets the
container's. Everything else IMM offers (concatenation, HLS/DASH segments, subtitles, sprites,
animations, watermarks, filters, stream selection, speed) is refused with InvalidArgument
naming the option, never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid, missing
from imm_engine.metrics.labels import bounded
from imm_engine.targets import templates, uris
from imm_engine.targets.naming import source_values, time_values
from imm_engine.tasktypes.common import boolean, check_keys, integer, number
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job, template_target

MAX_TARGETS = 10
MAX_SNAPSHOTS = 1000
MAX_SECONDS = 48 * 3600.0
#: Container -> ffmpeg muxer; the audio-only ones refuse video.
CONTAINERS = {
    "mp4": "mp4", "mkv": "matroska", "mov": "mov", "ts": "mpegts", "flv": "flv",
    "mp3": "mp3", "aac": "adts", "flac": "flac", "oga": "ogg", "opus": "opus",
}  # fmt: skip
AUDIO_ONLY = frozenset({"mp3", "aac", "flac", "oga", "opus"})
VIDEO_CODECS = ("copy", "h264", "h265", "vp9")
AUDIO_CODECS = ("copy", "aac", "mp3", "flac", "opus", "vorbis")
PIXEL_FORMATS = (
    "yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuva420p",
)  # fmt: skip
SNAPSHOT_FORMATS = ("jpg", "png", "webp")
TARGET_VARIABLES = templates.PUBLIC_VARIABLES | {"autoext"}
SNAPSHOT_VARIABLES = TARGET_VARIABLES | {"index"}
_RESOLUTION = re.compile(r"^(\d{1,5})?x(\d{1,5})?$")
#: Options accepted only at the value that means "off"/"default" (anything else is refused).
_VIDEO_DEFAULTS: dict[str, Any] = {
    "AdaptiveResolutionDirection": False, "BitrateOption": "fixed", "FrameRateOption": "fixed",
    "ResolutionOption": "fixed", "ScaleType": "stretch", "Rotation": 0, "VideoSlim": 0,
}  # fmt: skip
_AUDIO_DEFAULTS: dict[str, Any] = {"BitrateOption": "fixed", "SampleRateOption": "fixed"}

# The job's parts keep IMM's parameter names, as the records have always stored them; their
# defaults are IMM's.


@dataclass(frozen=True)
class MediaSource:
    URI: str
    #: The time range read, in seconds; a Duration of 0 reads to the end.
    StartTime: float = 0.0
    Duration: float = 0.0
    DisableVideo: bool = False
    DisableAudio: bool = False


@dataclass(frozen=True)
class VideoOptions:
    """`TranscodeVideo`; with Codec copy the other options are unset."""

    Codec: str
    #: [width, height], -2 for the side that keeps the aspect ratio.
    Scale: list[int] | None = None
    Bitrate: int | None = None
    CRF: float | None = None
    FrameRate: float | None = None
    GOPSize: int | None = None
    PixelFormat: str | None = None


@dataclass(frozen=True)
class AudioOptions:
    """`TranscodeAudio`; with Codec copy the other options are unset."""

    Codec: str
    Bitrate: int | None = None
    SampleRate: int | None = None
    Channel: int | None = None


@dataclass(frozen=True)
class Snapshot:
    #: A template (SNAPSHOT_VARIABLES).
    URI: str
    #: jpg, png or webp.
    Format: str = "jpg"
    #: interval, or average (Number spread over the media).
    Mode: str = "interval"
    StartTime: float = 0.0
    Number: int = 1
    #: Seconds between snapshots; None: Number spread over the media.
    Interval: float | None = None
    Width: int | None = None
    Height: int | None = None
    ScaleType: str = "stretch"


@dataclass(frozen=True)
class MediaTarget:
    #: None: no video stream (no `Video.TranscodeVideo`); likewise Audio.
    Video: VideoOptions | None = None
    Audio: AudioOptions | None = None
    Snapshots: list[Snapshot] = field(default_factory=list)
    StripMetadata: bool = False
    #: The transcoded file's URI template (TARGET_VARIABLES), "" for a snapshots-only target.
    URI: str = ""
    Container: str = ""


@dataclass(frozen=True)
class MediaConvertJob(Job):
    source: MediaSource
    targets: list[MediaTarget]

    def reads(self) -> list[str]:
        return [self.source.URI]

    def writes(self) -> list[str]:
        writes: list[str] = []
        for target in self.targets:
            writes += template_target(target.URI, self.source.URI)
            for snapshot in target.Snapshots:
                writes += template_target(snapshot.URI, self.source.URI)
        return writes

    def metric_labels(self) -> tuple[str, str]:
        container = self.targets[0].Container if self.targets else ""
        return "", bounded(container, CONTAINERS)


def parse_job(params: Params, tags: dict[str, Any]) -> MediaConvertJob:
    sources = params.get_json("Sources", list, max_bytes=256 * 1024)
    if not sources:
        raise missing("Sources")
    if len(sources) > 1:
        raise invalid("Sources", "concatenating several sources is not supported by this server")
    source = _source(sources[0], "Sources[0]")
    if params.get_str("TargetGroups") is not None:
        raise invalid("TargetGroups", "HLS packaging is not supported by this server")
    if params.get_int("AlignmentIndex", lo=0, hi=10) not in (None, 0):
        raise invalid("AlignmentIndex", "there is only one source")
    targets = params.get_json("Targets", list, max_bytes=256 * 1024)
    if not targets:
        raise missing("Targets")
    if len(targets) > MAX_TARGETS:
        raise invalid("Targets", f"at most {MAX_TARGETS} targets are allowed")
    src_uri = uris.parse_object(source.URI, "Sources[0].URI")
    sample = {**source_values(src_uri), **time_values("", 0), **time_values("t_", 0)}
    parsed = [_target(t, f"Targets[{i}]", tags, sample) for i, t in enumerate(targets)]
    return MediaConvertJob(source, parsed)


def _source(item: Any, where: str) -> MediaSource:
    if not isinstance(item, dict):
        raise invalid(where, 'each source must be an object like {"URI": "oss://..."}')
    check_keys(item, ("URI", "StartTime", "Duration", "DisableVideo", "DisableAudio"), where)
    uri = item.get("URI")
    if not isinstance(uri, str):
        raise invalid(where, "URI is missing")
    return MediaSource(
        URI=str(uris.parse_object(uri, f"{where}.URI")),
        StartTime=number(item, "StartTime", where, lo=0, hi=MAX_SECONDS, default=0.0) or 0.0,
        Duration=number(item, "Duration", where, lo=0, hi=MAX_SECONDS, default=0.0) or 0.0,
        DisableVideo=boolean(item, "DisableVideo", where),
        DisableAudio=boolean(item, "DisableAudio", where),
    )


def _target(item: Any, where: str, tags: dict[str, Any], sample: dict[str, str]) -> MediaTarget:
    if not isinstance(item, dict):
        raise invalid(where, "each target must be an object")
    check_keys(
        item, ("URI", "Container", "Video", "Audio", "Image", "Speed", "StripMetadata"), where
    )
    if number(item, "Speed", where, lo=0.5, hi=1.0, default=1.0) != 1.0:
        raise invalid(where, "Speed other than 1.0 is not supported by this server")
    video = _video(item.get("Video"), f"{where}.Video")
    audio = _audio(item.get("Audio"), f"{where}.Audio")
    snapshots = _image(item.get("Image"), f"{where}.Image", tags, sample)
    out = MediaTarget(video, audio, snapshots, boolean(item, "StripMetadata", where))
    if video is None and audio is None:
        if not snapshots:
            raise invalid(where, "it produces nothing: set Video.TranscodeVideo, "
                          "Audio.TranscodeAudio or Image.Snapshots")  # fmt: skip
        return out
    container = item.get("Container")
    if not isinstance(container, str) or not container:
        raise invalid(where, "Container is missing")
    container = container.lower()
    if container not in CONTAINERS:
        raise invalid(where, f"Container '{container}' is not one of {', '.join(CONTAINERS)}")
    if container in AUDIO_ONLY and video is not None:
        raise invalid(where, f"Container {container} holds audio only; remove Video")
    uri = item.get("URI")
    if not isinstance(uri, str) or not uri:
        raise invalid(where, "URI is missing")
    _check_template(uri, f"{where}.URI", TARGET_VARIABLES, tags, {**sample, "autoext": container})
    return replace(out, URI=uri, Container=container)


def _video(item: Any, where: str) -> VideoOptions | None:
    if item is None:
        return None
    if not isinstance(item, dict):
        raise invalid(where, "it must be an object")
    check_keys(item, ("DisableVideo", "TranscodeVideo"), where)
    transcode = item.get("TranscodeVideo")
    if boolean(item, "DisableVideo", where) or transcode is None:
        return None
    w = f"{where}.TranscodeVideo"
    if not isinstance(transcode, dict):
        raise invalid(w, "it must be an object")
    _defaults_only(transcode, _VIDEO_DEFAULTS, w)
    supported = ("Codec", "Resolution", "Bitrate", "CRF", "FrameRate", "PixelFormat", "GOPSize")
    check_keys(transcode, (*supported, *_VIDEO_DEFAULTS), w)
    codec = str(transcode.get("Codec") or "copy").lower()
    if codec not in VIDEO_CODECS:
        raise invalid(w, f"Codec '{codec}' is not one of {', '.join(VIDEO_CODECS)}")
    if codec == "copy":
        return VideoOptions(codec)
    scale = None
    resolution = transcode.get("Resolution")
    if resolution:
        match = _RESOLUTION.match(str(resolution))
        if not match or match.groups() == (None, None):
            raise invalid(w, f"Resolution '{resolution}' must look like 1280x720, 1280x or x720")
        width, height = (int(g) if g else -2 for g in match.groups())
        if not all(v == -2 or 2 <= v <= 8192 for v in (width, height)):
            raise invalid(w, "Resolution sides must be 2 to 8192 pixels")
        scale = [width, height]
    if transcode.get("Bitrate") is not None and transcode.get("CRF") is not None:
        raise invalid(w, "give Bitrate or CRF, not both")
    bitrate = integer(transcode, "Bitrate", w, lo=10_000, hi=200_000_000, default=None)
    crf = number(transcode, "CRF", w, lo=0, hi=51, default=None)
    frame_rate = number(transcode, "FrameRate", w, lo=1, hi=120, default=None)
    gop_size = integer(transcode, "GOPSize", w, lo=1, hi=100_000, default=None)
    pix = transcode.get("PixelFormat")
    if pix is not None and pix not in PIXEL_FORMATS:
        raise invalid(w, f"PixelFormat '{pix}' is not one of {', '.join(PIXEL_FORMATS)}")
    return VideoOptions(codec, scale, bitrate, crf, frame_rate, gop_size, pix)


def _audio(item: Any, where: str) -> AudioOptions | None:
    if item is None:
        return None
    if not isinstance(item, dict):
        raise invalid(where, "it must be an object")
    check_keys(item, ("DisableAudio", "TranscodeAudio"), where)
    transcode = item.get("TranscodeAudio")
    if boolean(item, "DisableAudio", where) or transcode is None:
        return None
    w = f"{where}.TranscodeAudio"
    if not isinstance(transcode, dict):
        raise invalid(w, "it must be an object")
    _defaults_only(transcode, _AUDIO_DEFAULTS, w)
    check_keys(transcode, ("Codec", "Bitrate", "SampleRate", "Channel", *_AUDIO_DEFAULTS), w)
    codec = str(transcode.get("Codec") or "copy").lower()
    if codec not in AUDIO_CODECS:
        raise invalid(w, f"Codec '{codec}' is not one of {', '.join(AUDIO_CODECS)}")
    if codec == "copy":
        return AudioOptions(codec)
    return AudioOptions(
        codec,
        Bitrate=integer(transcode, "Bitrate", w, lo=1000, hi=10_000_000, default=None),
        SampleRate=integer(transcode, "SampleRate", w, lo=8000, hi=96000, default=None),
        Channel=integer(transcode, "Channel", w, lo=1, hi=8, default=None),
    )


def _image(item: Any, where: str, tags: dict[str, Any], sample: dict[str, str]) -> list[Snapshot]:
    if item is None:
        return []
    if not isinstance(item, dict):
        raise invalid(where, "it must be an object")
    for unsupported in ("Sprites", "Animations"):
        if item.get(unsupported):
            raise invalid(where, f"{unsupported} are not supported by this server")
    check_keys(item, ("Snapshots", "Sprites", "Animations"), where)
    snapshots = item.get("Snapshots") or []
    if not isinstance(snapshots, list):
        raise invalid(where, "Snapshots must be an array")
    return [_snapshot(s, f"{where}.Snapshots[{i}]", tags, sample) for i, s in enumerate(snapshots)]


def _snapshot(item: Any, where: str, tags: dict[str, Any], sample: dict[str, str]) -> Snapshot:
    if not isinstance(item, dict):
        raise invalid(where, "each snapshot must be an object")
    check_keys(
        item,
        (
            "URI",
            "Format",
            "StartTime",
            "Number",
            "Interval",
            "Mode",
            "Width",
            "Height",
            "ScaleType",
        ),
        where,
    )
    mode = item.get("Mode") or "interval"
    if mode not in ("interval", "average"):
        raise invalid(where, f"Mode '{mode}' is not supported (interval or average)")
    scale_type = item.get("ScaleType") or "stretch"
    if scale_type not in ("stretch", "fit"):
        raise invalid(where, f"ScaleType '{scale_type}' is not supported (stretch or fit)")
    fmt = str(item.get("Format") or "jpg").lower()
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in SNAPSHOT_FORMATS:
        raise invalid(where, f"Format '{fmt}' is not one of {', '.join(SNAPSHOT_FORMATS)}")
    count = integer(item, "Number", where, lo=1, hi=MAX_SNAPSHOTS, default=1) or 1
    uri = item.get("URI")
    if not isinstance(uri, str) or not uri:
        raise invalid(where, "URI is missing")
    template = _check_template(
        uri, f"{where}.URI", SNAPSHOT_VARIABLES, tags, {**sample, "autoext": fmt, "index": "1"}
    )
    if count > 1 and "index" not in template.variables:
        raise invalid(f"{where}.URI", "several snapshots need {index} in the URI")
    return Snapshot(
        URI=uri,
        Format=fmt,
        Mode=mode,
        StartTime=number(item, "StartTime", where, lo=0, hi=MAX_SECONDS, default=0.0) or 0.0,
        Number=count,
        Interval=number(item, "Interval", where, lo=0.001, hi=MAX_SECONDS, default=None),
        Width=integer(item, "Width", where, lo=1, hi=8192, default=None),
        Height=integer(item, "Height", where, lo=1, hi=8192, default=None),
        ScaleType=scale_type,
    )


def _defaults_only(item: dict[str, Any], defaults: dict[str, Any], where: str) -> None:
    for key, default in defaults.items():
        value = item.get(key)
        if value is not None and value != default:
            raise invalid(where, f"{key} {value!r} is not supported by this server")


def _check_template(
    text: str, name: str, allowed: frozenset[str], tags: dict[str, Any], sample: dict[str, str]
) -> templates.Template:
    template = templates.parse(text, name)
    templates.check(template, allowed, tags, name)
    templates.render_uri(template, sample, tags, name)
    return template


def output_uri(template: templates.Template, values: dict[str, str], tags: dict[str, Any],
               container: str) -> uris.OssUri:  # fmt: skip
    """The rendered target URI; without an extension it gets the container's (pure)."""
    uri = templates.render_uri(template, values, tags, "URI")
    if not uri.ext:
        uri = uris.OssUri(uri.bucket, f"{uri.key}.{container}")
    return uri


TASK_TYPE = TaskType(
    name="MediaConvert",
    action="CreateMediaConvertTask",
    queue="media",
    job=MediaConvertJob,
    parse=parse_job,
    limits={"Sources": 1, "Targets": MAX_TARGETS, "Snapshots.Number": MAX_SNAPSHOTS},
)
