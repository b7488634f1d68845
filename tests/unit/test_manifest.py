"""A SourceManifestURI manifest read by the worker (workers/processors/compression.py): rules
the parser refuses fail the task with the words the API would have answered."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from imm_engine.errors import TaskFailure
from imm_engine.targets import uris
from workers.processors import compression


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"URI": "oss://bkt/x", "Mode": "nope"}],
         "The parameter SourceManifestURI[0] is invalid: Mode 'nope' is not one of prefix, "
         "fullname"),
        ([{"URI": "oss://bkt/x", "Size": 1}],
         "The parameter SourceManifestURI[0] is invalid: unknown or unsupported field(s) Size"),
        ([{"URI": "oss://bkt/../x"}],
         "The parameter SourceManifestURI[0].URI is invalid: the object key must not contain "
         "'.' or '..' path segments"),
        ({}, "The parameter SourceManifestURI is invalid: it must be a JSON array of rules"),
    ],
)  # fmt: skip
def test_refused_rules_fail_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: Any, message: str
) -> None:
    def fetch(ctx: Any, uri: uris.OssUri, path: Path, *, max_bytes: int) -> None:
        path.write_text(json.dumps(rules), encoding="utf-8")

    monkeypatch.setattr(compression, "fetch", fetch)
    with pytest.raises(TaskFailure) as err:
        compression.load_manifest(
            SimpleNamespace(workdir=tmp_path),  # type: ignore[arg-type]
            uris.OssUri("bkt", "manifest.json"),
        )
    assert (err.value.code, err.value.message) == ("InvalidArgument", message)
    assert not err.value.retryable
