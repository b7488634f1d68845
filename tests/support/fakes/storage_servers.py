"""Object-storage servers on loopback for the tests, each a subprocess of its own.

- `S3Server`: moto's S3 server (`moto_server`), a real S3-protocol HTTP server (it does not
  check signatures).
- `OssServer`: tests/support/fakes/oss_server.py, which checks OSS signatures.

Subprocesses, so a test measuring its own memory does not count the server's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.paths import ROOT
from tests.support.service import free_port

OSS_AK = "fake-oss-ak"
OSS_SECRET = "fake-oss-secret"
S3_AK = "fake-s3-ak"
S3_SECRET = "fake-s3-secret"
DENIED_BUCKET = "oss-denied"


def clean_env() -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    return {k: v for k, v in os.environ.items() if k.lower() not in proxies}


def _wait(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1, trust_env=False)
            return
        time.sleep(0.1)
    proc.kill()  # never leave a server behind
    proc.wait()
    raise RuntimeError(f"{what} did not start")


@dataclass
class S3Server:
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        exe = Path(sys.executable).parent / "moto_server"
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.url + "/moto-api/", self.proc, "moto_server")
        return self

    def backend(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": "s3",
            "endpoint_url": self.url,
            "region": "us-east-1",
            "access_key_id": S3_AK,
            "secret_access_key": S3_SECRET,
            **extra,
        }

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=S3_AK,
            aws_secret_access_key=S3_SECRET,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class OssServer:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OssServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "tests.support.fakes.oss_server", "--port", str(self.port),
                "--root", str(self.root), "--ak", OSS_AK, "--secret", OSS_SECRET,
                "--deny", DENIED_BUCKET,
            ],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(self.url + "/-/stats", self.proc, "the fake OSS server")
        return self

    def make_bucket(self, name: str) -> None:
        (self.root / name).mkdir(parents=True, exist_ok=True)

    def path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def stats(self) -> dict[str, int]:
        import ast

        text = httpx.get(self.url + "/-/stats", timeout=5, trust_env=False).text
        return dict(ast.literal_eval(text))

    def backend(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": "oss",
            "endpoint": self.url,
            "access_key_id": OSS_AK,
            "access_key_secret": OSS_SECRET,
            **extra,
        }

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
