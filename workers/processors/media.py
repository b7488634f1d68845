"""MediaConvert with ffmpeg: per target one transcoded file and/or snapshots.

The command lines are built by pure functions (`transcode_args`, `snapshot_times`,
`snapshot_args`); `run_tool` runs ffmpeg/ffprobe with a deadline shared by the whole task
(`IMM_MEDIA_TIMEOUT`) and kills them past it, in the sandbox and under the memory bound of
workers/isolation/sandbox.py (a `Jail`).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.targets import templates, uris
from imm_engine.targets.naming import source_values, time_values
from imm_engine.tasktypes import media_convert
from imm_engine.tasktypes.media_convert import (
    CONTAINERS,
    MediaConvertJob,
    MediaSource,
    MediaTarget,
    Snapshot,
    output_uri,
)
from workers.isolation.memwatch import MemoryWatch, descendant, exceeded
from workers.isolation.sandbox import Policy, policy_of
from workers.processors.base import TaskContext
from workers.processors.objects import fetch, upload

log = logging.getLogger("imm_engine.worker")

VIDEO_ENCODERS = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9", "copy": "copy"}
AUDIO_ENCODERS = {
    "aac": "aac", "mp3": "libmp3lame", "flac": "flac", "opus": "libopus",
    "vorbis": "libvorbis", "copy": "copy",
}  # fmt: skip
BASE = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
#: Demuxers a source may be read with: media files only, never playlists or other indirections
#: (HLS, DASH, concat, image sequences) that would make ffmpeg open other files or URLs.
DEMUXERS = (
    "mov", "mp4", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "mpegvideo", "mp3",
    "aac", "wav", "w64", "flac", "ogg", "asf", "mxf", "amr", "ac3", "eac3", "dts", "m4v",
    "h264", "hevc", "dv", "aiff", "caf", "wv", "ape", "nut", "rm", "gif",
)  # fmt: skip
#: Before every `-i`: read local files only, with the demuxers above only.
INPUT_GUARD = ["-protocol_whitelist", "file", "-format_whitelist", ",".join(DEMUXERS)]


def _range(source: MediaSource) -> list[str]:
    args = []
    if source.StartTime:
        args += ["-ss", f"{source.StartTime:.3f}"]
    if source.Duration:
        args += ["-t", f"{source.Duration:.3f}"]
    return args


def transcode_args(src: Path, out: Path, source: MediaSource, target: MediaTarget) -> list[str]:
    """The ffmpeg command for one target's media output (pure)."""
    video = None if source.DisableVideo else target.Video
    audio = None if source.DisableAudio else target.Audio
    args = [*BASE, *_range(source), *INPUT_GUARD, "-i", str(src)]
    if video:
        args += ["-map", "0:v:0?"]
    if audio:
        args += ["-map", "0:a:0?"]
    if video:
        args += ["-c:v", VIDEO_ENCODERS[video.Codec]]
        if video.Codec != "copy":
            if video.Scale:
                w, h = video.Scale
                args += ["-vf", f"scale={w}:{h}"]
            if video.Bitrate:
                args += ["-b:v", str(video.Bitrate)]
            if video.CRF is not None:
                args += ["-crf", f"{video.CRF:g}"]
            if video.FrameRate:
                args += ["-r", f"{video.FrameRate:g}"]
            if video.GOPSize:
                args += ["-g", str(video.GOPSize)]
            if video.PixelFormat:
                args += ["-pix_fmt", video.PixelFormat]
            if video.Codec == "h265":
                args += ["-x265-params", "log-level=error"]
                if target.Container in ("mp4", "mov"):
                    args += ["-tag:v", "hvc1"]  # what Apple players need
    else:
        args += ["-vn"]
    if audio:
        args += ["-c:a", AUDIO_ENCODERS[audio.Codec]]
        if audio.Codec != "copy":
            if audio.Bitrate:
                args += ["-b:a", str(audio.Bitrate)]
            if audio.SampleRate:
                args += ["-ar", str(audio.SampleRate)]
            if audio.Channel:
                args += ["-ac", str(audio.Channel)]
    else:
        args += ["-an"]
    args += ["-sn", "-dn"]
    if target.StripMetadata:
        args += ["-map_metadata", "-1"]
    if target.Container in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    return [*args, "-f", CONTAINERS[target.Container], str(out)]


def snapshot_times(snap: Snapshot, duration: float) -> list[float]:
    """When each snapshot is taken, in seconds into the (trimmed) media; none past its end."""
    start, count = float(snap.StartTime), int(snap.Number)
    interval = snap.Interval
    if snap.Mode == "average" or (interval is None and count > 1):
        interval = max(duration - start, 0) / count
    times = [start + i * (interval or 0) for i in range(count)]
    return [round(t, 3) for t in times if t < duration or (t == 0 and duration == 0)]


def snapshot_args(src: Path, out: Path, at: float, snap: Snapshot) -> list[str]:
    args = [*BASE, "-ss", f"{at:.3f}", *INPUT_GUARD, "-i", str(src), "-frames:v", "1"]
    args += ["-an", "-sn", "-dn"]
    width, height = snap.Width, snap.Height
    if width or height:
        w, h = width or -2, height or -2
        fit = snap.ScaleType == "fit" and width and height
        args += ["-vf", f"scale={w}:{h}" + (":force_original_aspect_ratio=decrease" if fit else "")]
    if snap.Format == "jpg":
        args += ["-q:v", "2"]
    codec = {"jpg": "mjpeg", "png": "png", "webp": "libwebp"}[snap.Format]
    return [*args, "-c:v", codec, "-f", "image2", "-update", "1", str(out)]


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise _timeout(self.seconds)
        return left


def _timeout(seconds: float) -> TaskFailure:
    return TaskFailure("ConvertTimeout", f"The media conversion took longer than {seconds:g} s.")


@dataclass(frozen=True)
class Jail:
    """How ffmpeg and ffprobe run: in the sandbox, seeing only the task's directory (bound at
    its own path, so arguments need no translation), under the memory bound."""

    policy: Policy
    workdir: Path

    def command(self, args: list[str]) -> list[str]:
        if self.policy.enabled:
            tool = shutil.which(args[0])
            if tool is None:
                raise FileNotFoundError(args[0])
            args = [tool, *args[1:]]
        workdir = str(self.workdir.absolute())
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"}
        return self.policy.command(args, binds=[(self.workdir, workdir)], chdir=workdir, env=env)


#: No sandbox, no bound: for callers outside a task (and tests of the pure helpers).
BARE = Jail(Policy(mode="off", memory_mib=0), Path("."))


def run_tool(args: list[str], deadline: Deadline, what: str, jail: Jail = BARE) -> str:
    started = time.monotonic()
    if jail is not BARE:
        jail.policy.own(jail.workdir)
    try:
        proc = subprocess.Popen(
            jail.command(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=None if jail is BARE else {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except FileNotFoundError as exc:
        raise TaskFailure("InternalError", f"{args[0]} is not installed on this worker.") from exc
    tool = Path(args[0]).name
    watch = MemoryWatch(lambda: descendant(proc.pid, tool), jail.policy.memory_bytes)
    with watch:
        try:
            stdout, stderr = proc.communicate(timeout=deadline.remaining())
        except (subprocess.TimeoutExpired, TaskFailure) as exc:
            proc.kill()  # bwrap: its sandbox dies with it (--die-with-parent)
            proc.communicate()
            if watch.hit():
                raise exceeded("The media file", jail.policy.memory_bytes) from exc
            raise _timeout(deadline.seconds) from exc
    if proc.returncode != 0:
        if watch.hit(stderr.encode(errors="replace")):
            log.warning("%s hit the memory bound after %.1f s", what, time.monotonic() - started)
            raise exceeded("The media file", jail.policy.memory_bytes)
        tail = " ".join(stderr.strip().splitlines()[-3:])[-400:]
        raise TaskFailure("InvalidFile" if what == "probe" else "ConvertFailed", f"{what}: {tail}")
    return stdout


def probe(path: Path, deadline: Deadline, jail: Jail = BARE) -> dict[str, Any]:
    out = run_tool(
        ["ffprobe", "-v", "error", *INPUT_GUARD, "-print_format", "json", "-show_format",
         "-show_streams", str(path)],
        deadline,
        "probe",
        jail,
    )  # fmt: skip
    try:
        info: dict[str, Any] = json.loads(out)
    except ValueError as exc:
        raise TaskFailure("InvalidFile", "The source is not a media file ffprobe reads.") from exc
    if not info.get("streams"):
        raise TaskFailure("InvalidFile", "The source has no audio or video stream.")
    return info


def duration_of(info: dict[str, Any]) -> float:
    try:
        return float(info.get("format", {}).get("duration") or 0.0)
    except ValueError:
        return 0.0


class MediaConvert:
    task_type = media_convert.TASK_TYPE

    def run(self, job: MediaConvertJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        # Never past the Celery soft time limit, which would end the run without a status.
        limit = ctx.settings.task_time_limit_s - 60
        deadline = Deadline(min(ctx.settings.media_timeout_s, limit))
        source = job.source
        src_uri = uris.parse_object(source.URI, "Sources.URI")
        src = ctx.workdir / f"source.{src_uri.ext or 'media'}"
        info = fetch(ctx, src_uri, src)
        jail = Jail(policy_of(ctx.settings), ctx.workdir)
        src_info = probe(src, deadline, jail)
        full = duration_of(src_info)
        start = float(source.StartTime)
        length = max(full - start, 0.0)
        if source.Duration:
            length = min(length, float(source.Duration))
        values = {
            **source_values(src_uri),
            **time_values("", info.mtime),
            **time_values("t_", rec.start_ts),
        }
        has_video = any(s.get("codec_type") == "video" for s in src_info["streams"])
        ctx.progress(5, force=True)
        results = []
        for n, target in enumerate(job.targets, 1):
            result: dict[str, Any] = {}
            if target.URI:
                result.update(self._media(ctx, rec, src, source, target, values, deadline, jail))
            if target.Snapshots:
                if not has_video or source.DisableVideo:
                    raise TaskFailure(
                        "InvalidFile", "The source has no video to take snapshots of."
                    )
                result["Snapshots"] = self._snapshots(
                    ctx, rec, src, start, length, target.Snapshots, values, deadline, jail
                )
            results.append(result)
            ctx.progress(5 + 94 * n / len(job.targets))
        return {
            "Sources": [{"URI": str(src_uri), "Duration": round(full, 3)}],
            "Targets": results,
        }

    def _media(
        self,
        ctx: TaskContext,
        rec: TaskRecord,
        src: Path,
        source: MediaSource,
        target: MediaTarget,
        values: dict[str, str],
        deadline: Deadline,
        jail: Jail,
    ) -> dict[str, Any]:
        container = target.Container
        template = templates.parse(target.URI, "Targets.URI")
        uri = output_uri(template, {**values, "autoext": container}, rec.tags, container)
        out = ctx.workdir / f"out.{container}"
        run_tool(transcode_args(src, out, source, target), deadline, "ffmpeg", jail)
        out_info = probe(out, deadline, jail)
        upload(ctx, out, uri)
        out.unlink(missing_ok=True)
        streams = sorted({s.get("codec_type", "") for s in out_info["streams"]})
        return {
            "URI": str(uri),
            "Container": container,
            "Duration": round(duration_of(out_info), 3),
            "Streams": streams,
        }

    def _snapshots(
        self,
        ctx: TaskContext,
        rec: TaskRecord,
        src: Path,
        start: float,
        length: float,
        snapshots: list[Snapshot],
        values: dict[str, str],
        deadline: Deadline,
        jail: Jail,
    ) -> list[dict[str, Any]]:
        made: list[dict[str, Any]] = []
        for snap in snapshots:
            template = templates.parse(snap.URI, "Snapshots.URI")
            for index, at in enumerate(snapshot_times(snap, length), 1):
                out = ctx.workdir / f"snap.{snap.Format}"
                out.unlink(missing_ok=True)
                run_tool(snapshot_args(src, out, start + at, snap), deadline, "ffmpeg", jail)
                if not out.is_file() or out.stat().st_size == 0:
                    break  # past the last frame
                uri = templates.render_uri(
                    template,
                    {**values, "autoext": snap.Format, "index": str(index)},
                    rec.tags,
                    "Snapshots.URI",
                )
                upload(ctx, out, uri)
                made.append({"URI": str(uri), "Time": at})
        return made


PROCESSOR = MediaConvert()
