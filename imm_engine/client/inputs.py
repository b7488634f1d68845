"""What `imm-engine convert` converts: files, folders of files, or `oss://` objects.

Local files are copied into the service's storage (the same backends the service uses,
chosen by IMM_STORAGE_CONFIG / IMM_STORAGE_ROOT) under `oss://<bucket>/uploads/<run>/`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from imm_engine.client.args import UsageError
from imm_engine.errors import InvalidValue
from imm_engine.storage.base import ObjectStore
from imm_engine.targets.uris import parse_object

#: Characters kept in uploaded names besides letters, marks and digits of every script.
_KEPT = frozenset("._-")


@dataclass(frozen=True)
class Input:
    #: As the user named it (a path or an oss:// URI), for the summary.
    label: str
    #: The local file to upload, or None for an oss:// source.
    path: Path | None
    #: The source in storage (set for oss:// inputs; set by `upload` for files).
    uri: str = ""

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else self.uri.rsplit("/", 1)[-1]


def collect(arguments: list[str], recursive: bool) -> list[Input]:
    """Every input the arguments name, in order; UsageError for a path that does not exist or
    a folder without files. Hidden files (and, with --recursive, hidden folders) are skipped."""
    found: list[Input] = []
    for arg in arguments:
        if arg.startswith("oss://"):
            try:
                parse_object(arg, "source")
            except InvalidValue as exc:
                raise UsageError(f"{arg}: {exc.message}") from None
            found.append(Input(arg, None, arg))
            continue
        path = Path(arg)
        if path.is_dir():
            files = folder_files(path, recursive)
            if not files:
                raise UsageError(f"{arg}: the folder holds no (visible) files")
            found.extend(Input(str(f), f) for f in files)
        elif path.is_file():
            found.append(Input(arg, path))
        else:
            raise UsageError(f"{arg}: no such file or folder")
    return found


def folder_files(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    files = []
    for f in folder.glob(pattern):
        relative = f.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if f.is_file():
            files.append(f)
    return sorted(files)


def safe_name(name: str) -> str:
    """A file name fit for an object key and a folder name: letters and digits of every
    script are kept (`中文报告.docx`, `보고서.docx`, `データ.docx`), as is the extension; a
    stem with nothing left becomes `file`. NFC first: macOS names arrive decomposed."""
    name = unicodedata.normalize("NFC", name)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    clean_ext = "".join(ch for ch in ext if _kept(ch))[:32]
    clean_stem = re.sub(r"_{2,}", "_", _replace_unsafe(stem)).strip("_.") or "file"
    suffix = f".{clean_ext}" if clean_ext else ""
    return clean_stem[: 200 - len(suffix)] + suffix


def _kept(ch: str) -> bool:
    return ch in _KEPT or unicodedata.category(ch)[0] in "LMN"


def _replace_unsafe(text: str) -> str:
    return "".join(ch if _kept(ch) else "_" for ch in text)


def slot_names(inputs: list[Input]) -> list[str]:
    """One distinct folder-safe name per input (its stem; `-2`, `-3` for repeats)."""
    seen: dict[str, int] = {}
    names = []
    for item in inputs:
        base = safe_name(item.name)
        stem = base.rsplit(".", 1)[0] if "." in base else base
        count = seen.get(stem, 0) + 1
        seen[stem] = count
        names.append(stem if count == 1 else f"{stem}-{count}")
    return names


def upload(store: ObjectStore, item: Input, bucket: str, run_id: str, slot: str) -> Input:
    """Copy a local input into storage; oss:// inputs are returned as they are."""
    if item.path is None:
        return item
    uri = f"oss://{bucket}/uploads/{run_id}/{slot}/{safe_name(item.path.name)}"
    store.upload(item.path, parse_object(uri, "source"))
    return Input(item.label, item.path, uri)
