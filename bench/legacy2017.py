"""A 2017-09-06 conversion against the same 2020 conversion (goal: equal within noise).

    .venv/bin/python -m bench.legacy2017 [--runs 7] [--docs simple.docx:png,...]

One `imm-engine up` with one worker process. For each document and target, N runs of each
method, alternating (2020, 2017, 2020, ...) so that drift on a shared machine hits both:

* 2020: the official SDK's `CreateOfficeConversionTask` (alibabacloud_imm20200930);
* 2017: `aliyunsdkimm.request.v20170906.CreateOfficeConversionTaskRequest` through
  aliyun-python-sdk-core (classic RPC signature), `Hidecomments=True` so that both do the
  same conversion (2017 shows comments by default, 2020 hides them).

Each is timed from the SDK call until the webhook receiver got the completion event (the 2020
envelope, or the 2017 `{"events": [...]}` for the topic of a 2017 task). The table gives the
medians and the 2017/2020 ratio; samples go to bench/results/legacy2017.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    BUCKET,
    PROJECT,
    TOPIC,
    Arrival,
    Receiver,
    Service,
    drop_proxies,
)
from bench.util import median, ms, percentile, progress

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = (
    "simple.docx:png,fake-power-point.pptx:pdf,multi-column-2p.pdf:png,handbook-1p.docx:jpg"
)
TIMEOUT_S = 300.0


class EitherReceiver(Receiver):
    """Records 2020 envelopes and 2017 events alike, by TaskId."""

    def _record(self, at: float, wall: float, body: bytes) -> None:
        try:
            imm = json.loads(body)["events"][0]["imm"]
        except (ValueError, KeyError, TypeError, IndexError):
            super()._record(at, wall, body)
            return
        content = {
            "TaskId": imm["taskId"],
            "Status": "Succeeded" if imm.get("code") == "NoError" else "Failed",
            "Code": imm.get("code"),
            "Message": imm.get("message"),
            "PageCount": imm.get("pageCount"),
        }
        with self._cond:
            self._arrivals.setdefault(str(imm["taskId"]), Arrival(at, wall, content))
            self._cond.notify_all()


def old_client(port: int) -> Any:
    from aliyunsdkcore.client import AcsClient

    client = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "cn-beijing")
    client.add_endpoint("cn-beijing", "imm", f"127.0.0.1:{port}")
    return client


def run_2017(service: Service, client: Any, key: str, target: str, label: str) -> float:
    from aliyunsdkimm.request.v20170906.CreateOfficeConversionTaskRequest import (
        CreateOfficeConversionTaskRequest,
    )

    req = CreateOfficeConversionTaskRequest()
    req.set_Project(PROJECT)
    req.set_SrcUri(f"oss://{BUCKET}/{key}")
    req.set_TgtUri(f"oss://{BUCKET}/out/{label}/")
    req.set_TgtType(target)
    req.set_EndPage(-1)
    req.set_Hidecomments(True)
    req.set_NotifyTopicName(TOPIC)
    started = time.perf_counter()
    task_id = json.loads(client.do_action_with_exception(req))["TaskId"]
    arrival = service.receiver.wait_for(task_id, TIMEOUT_S, service.alive)
    if arrival.content.get("Status") != "Succeeded":
        raise BenchError(f"2017 {key} -> {target}: {arrival.content}")
    service.clear_outputs()
    return arrival.at - started


def run_2020(service: Service, key: str, target: str, label: str) -> float:
    return service.convert(key, target, label, TIMEOUT_S).seconds


@contextmanager
def started(workdir: Path) -> Iterator[Service]:
    receiver = EitherReceiver().start()
    service = Service(workdir, ROOT / "bench/results/service-legacy2017.log", receiver)
    try:
        progress(f"starting imm-engine up with 1 worker process (port {service.port})")
        service.start()
        yield service
    finally:
        try:
            service.stop()
        finally:
            receiver.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--docs", default=DEFAULT_DOCS, help="name:target,...")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/corpus")
    args = parser.parse_args(argv)
    import os

    drop_proxies(os.environ)
    cases = [item.split(":") for item in args.docs.split(",")]
    samples: dict[str, dict[str, list[float]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-legacy-") as tmp, started(Path(tmp)) as svc:
            old = old_client(svc.port)
            for name, _ in cases:
                svc.add_source(args.corpus / name)
            for name, target in cases:  # warm-up, not counted
                run_2020(svc, name, target, "warm")
                run_2017(svc, old, name, target, "warm")
            for name, target in cases:
                case = f"{name} -> {target}"
                got = samples.setdefault(case, {"2020": [], "2017": []})
                for i in range(args.runs):
                    got["2020"].append(run_2020(svc, name, target, f"a{i}"))
                    got["2017"].append(run_2017(svc, old, name, target, f"b{i}"))
                progress(f"{case}: done")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    heads = ("2020 ms", "2017 ms", "2017/2020", "p90 2020", "p90 2017")
    print(f"{'case':<36} " + " ".join(f"{h:>9}" for h in heads))
    out: dict[str, Any] = {"runs": args.runs, "cases": {}}
    for case, got in samples.items():
        a, b = median(got["2020"]), median(got["2017"])
        assert a is not None and b is not None
        print(
            f"{case:<36} {a * 1000:>9.0f} {b * 1000:>9.0f} {b / a:>9.2f}x "
            f"{(percentile(got['2020'], 90) or 0) * 1000:>9.0f} "
            f"{(percentile(got['2017'], 90) or 0) * 1000:>9.0f}"
        )
        out["cases"][case] = {
            "median_ms_2020": ms(a),
            "median_ms_2017": ms(b),
            "ratio": round(b / a, 3),
            "samples_ms_2020": [ms(s) for s in got["2020"]],
            "samples_ms_2017": [ms(s) for s in got["2017"]],
        }
    results = ROOT / "bench/results/legacy2017.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
