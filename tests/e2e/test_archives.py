"""FileCompression, FileUncompression and ArchiveFileInspection through the official SDK,
with the archives (hostile ones included) generated here."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client

from tests.support.needs import need
from tests.support.service import TOPIC, Receiver, Service
from tests.support.task_runs import BUCKET, failed, objects_under, run_dir, submit, succeeded

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

FILES = {
    "src/a.txt": b"alpha\n" * 100,
    "src/sub/b.bin": os.urandom(70_000),
    "src/sub/deeper/c.json": b'{"c": 3}',
    "src-other/d.txt": b"not under src/",
}


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_pairs(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip with these entries in this order (the same name may come twice)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def put_tree(service: Service, run: str, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        service.put(BUCKET, f"{run}/{key}", data)


def compress(client: Client, receiver: Receiver, **kwargs: Any) -> Any:
    request = m.CreateFileCompressionTaskRequest(**kwargs)
    return submit(client, receiver, client.create_file_compression_task, request)[1]


def uncompress(client: Client, receiver: Receiver, **kwargs: Any) -> Any:
    request = m.CreateFileUncompressionTaskRequest(**kwargs)
    return submit(client, receiver, client.create_file_uncompression_task, request)[1]


def zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {i.filename: zf.read(i) for i in zf.infolist()}


# --- FileCompression ----------------------------------------------------------------------


def test_compress_a_prefix_keeps_the_keys(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    put_tree(service, run, FILES)
    target = f"oss://{BUCKET}/{run}/out/all.zip"
    Src = m.CreateFileCompressionTaskRequestSources

    content = succeeded(
        compress(
            client, receiver, sources=[Src(uri=f"oss://{BUCKET}/{run}/src/")], target_uri=target
        )
    )

    expected = {f"{run}/{k}": v for k, v in FILES.items() if k.startswith("src/")}
    assert zip_contents(service.object(target)) == expected
    assert content["TargetURI"] == target
    assert content["FileCount"] == 3
    assert content["TotalSize"] == sum(map(len, expected.values()))


def test_compress_into_the_prefix_it_packs_twice(
    service: Service, client: Client, receiver: Receiver
) -> None:
    """A second run (as after a redelivery) must not pack the zip the first one wrote."""
    run = run_dir()
    put_tree(service, run, FILES)
    target = f"oss://{BUCKET}/{run}/src/self.zip"
    Src = m.CreateFileCompressionTaskRequestSources
    sources = [Src(uri=f"oss://{BUCKET}/{run}/src/", alias="/")]

    succeeded(compress(client, receiver, sources=sources, target_uri=target))
    first = zip_contents(service.object(target))
    succeeded(compress(client, receiver, sources=sources, target_uri=target))

    assert zip_contents(service.object(target)) == first
    assert sorted(first) == ["a.txt", "b.bin", "c.json"]


def test_compress_with_aliases_and_fullname(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    put_tree(service, run, FILES)
    target = f"oss://{BUCKET}/{run}/out/aliased.zip"
    Src = m.CreateFileCompressionTaskRequestSources
    sources = [
        Src(uri=f"oss://{BUCKET}/{run}/src/", alias="/new/"),  # re-root the directory
        Src(uri=f"oss://{BUCKET}/{run}/src-other/d.txt", mode="fullname", alias="/renamed.txt"),
        Src(uri=f"oss://{BUCKET}/{run}/src/sub/", alias="/"),  # flatten
    ]

    succeeded(compress(client, receiver, sources=sources, target_uri=target))

    assert zip_contents(service.object(target)) == {
        "new/a.txt": FILES["src/a.txt"],
        "new/sub/b.bin": FILES["src/sub/b.bin"],
        "new/sub/deeper/c.json": FILES["src/sub/deeper/c.json"],
        "renamed.txt": FILES["src-other/d.txt"],
        "b.bin": FILES["src/sub/b.bin"],
        "c.json": FILES["src/sub/deeper/c.json"],
    }


def test_compress_from_a_manifest(service: Service, client: Client, receiver: Receiver) -> None:
    run = run_dir()
    put_tree(service, run, FILES)

    rules = [{"URI": f"oss://{BUCKET}/{run}/src/a.txt", "Mode": "fullname", "Alias": "/x/a.txt"}]
    rules += [{"URI": f"oss://{BUCKET}/{run}/src-other/", "Alias": "/"}]
    manifest = service.put(BUCKET, f"{run}/manifest.json", json.dumps(rules).encode())
    target = f"oss://{BUCKET}/{run}/out/m.zip"

    succeeded(compress(client, receiver, source_manifest_uri=manifest, target_uri=target))

    assert zip_contents(service.object(target)) == {
        "x/a.txt": FILES["src/a.txt"],
        "d.txt": FILES["src-other/d.txt"],
    }


def test_compress_missing_object_fails(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    Src = m.CreateFileCompressionTaskRequestSources
    delivery = compress(
        client,
        receiver,
        sources=[Src(uri=f"oss://{BUCKET}/{run}/nope.txt", mode="fullname")],
        target_uri=f"oss://{BUCKET}/{run}/out.zip",
    )
    assert "nope.txt" in failed(delivery, "ResourceNotFound")
    assert not service.object(f"oss://{BUCKET}/{run}/out.zip").exists()


def test_compress_refuses_colliding_names(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    put_tree(service, run, FILES)
    Src = m.CreateFileCompressionTaskRequestSources
    delivery = compress(
        client,
        receiver,
        sources=[Src(uri=f"oss://{BUCKET}/{run}/src/", alias="/same.txt")],
        target_uri=f"oss://{BUCKET}/{run}/out.zip",
    )
    assert "same.txt" in failed(delivery, "InvalidArgument.DuplicateEntry")


# --- FileUncompression --------------------------------------------------------------------

ENTRIES = {
    "docs/": b"",
    "docs/readme.txt": b"read me\n" * 50,
    "docs/img/pixel.bin": os.urandom(5000),
    "top.txt": b"top",
}


def test_uncompress_zip_writes_every_file(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/archive.zip", zip_bytes(ENTRIES))

    content = succeeded(
        uncompress(client, receiver, source_uri=source, target_uri=f"oss://{BUCKET}/{run}/out/")
    )

    files = {k: v for k, v in ENTRIES.items() if not k.endswith("/")}
    assert objects_under(service, f"{run}/out") == files
    assert content["FileCount"] == 3
    assert content["ArchiveFormat"] == "zip"
    assert sorted(f["URI"] for f in content["Files"]) == sorted(
        f"oss://{BUCKET}/{run}/out/{k}" for k in files
    )


def test_uncompress_default_target_and_selected_files(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/pack.zip", zip_bytes(ENTRIES))

    succeeded(
        uncompress(client, receiver, source_uri=source, selected_files=["docs/img", "top.txt"])
    )

    # No TargetURI: next to the archive, in a directory named after it.
    assert objects_under(service, f"{run}/pack") == {
        "docs/img/pixel.bin": ENTRIES["docs/img/pixel.bin"],
        "top.txt": b"top",
    }


def test_uncompress_tar_gz(service: Service, client: Client, receiver: Receiver) -> None:
    run = run_dir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in ENTRIES.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    source = service.put(BUCKET, f"{run}/a.tar.gz", buf.getvalue())

    content = succeeded(
        uncompress(client, receiver, source_uri=source, target_uri=f"oss://{BUCKET}/{run}/out/")
    )

    assert content["ArchiveFormat"] == "tar.gz"
    assert objects_under(service, f"{run}/out") == {
        k: v for k, v in ENTRIES.items() if not k.endswith("/")
    }


def test_uncompress_encrypted_zip(
    service: Service, client: Client, receiver: Receiver, tmp_path: Path
) -> None:
    need(shutil.which("zip") is not None, "the zip command (Debian package zip)")
    (tmp_path / "secret.txt").write_bytes(b"the secret")
    subprocess.run(["zip", "-q", "-P", "s3cret", "enc.zip", "secret.txt"], cwd=tmp_path, check=True)
    run = run_dir()
    source = service.put(BUCKET, f"{run}/enc.zip", (tmp_path / "enc.zip").read_bytes())
    prefix = f"oss://{BUCKET}/{run}/out/"

    failed(uncompress(client, receiver, source_uri=source, target_uri=prefix), "PasswordRequired")
    failed(
        uncompress(client, receiver, source_uri=source, target_uri=prefix, password="wrong"),
        "InvalidPassword",
    )
    assert objects_under(service, f"{run}/out") == {}
    succeeded(uncompress(client, receiver, source_uri=source, target_uri=prefix, password="s3cret"))
    assert objects_under(service, f"{run}/out") == {"secret.txt": b"the secret"}


def symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        link = zipfile.ZipInfo("link-to-passwd")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, b"/etc/passwd")
    return buf.getvalue()


def zip_bomb() -> bytes:
    """~200 KB that expands to 200 MiB (ratio ~1000, past the default 500)."""
    buf = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.bin", "w") as out,
    ):
        for _ in range(200):
            out.write(chunk)
    return buf.getvalue()


def forged_zip(claims: list[tuple[int, int]]) -> bytes:
    """A zip of a few KB whose central directory claims each entry is (size, compressed) bytes:
    the headers lie, so only the sizes read from them can stop it."""
    data = bytearray(zip_bytes({f"claims-{i}.bin": bytes(1000) for i in range(len(claims))}))
    at = 0
    for size, compressed in claims:
        at = data.index(b"PK\x01\x02", at) + 4
        struct.pack_into("<II", data, at - 4 + 20, compressed, size)
    return bytes(data)


def many_entries(count: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(count):
            zf.writestr(f"{i}", b"")
    return buf.getvalue()


def tar_with(member: tarfile.TarInfo) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 4
        tf.addfile(ok, io.BytesIO(b"fine"))
        tf.addfile(member)
    return buf.getvalue()


def _tar_member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


HOSTILE: list[tuple[str, Any, str]] = [
    ("slip.zip", lambda: zip_bytes({"ok.txt": b"fine", "../../escaped.txt": b"x"}),
     "InvalidFile.UnsafeEntry"),
    ("inner-slip.zip", lambda: zip_bytes({"ok.txt": b"fine", "a/../../escaped.txt": b"x"}),
     "InvalidFile.UnsafeEntry"),
    ("absolute.zip", lambda: zip_bytes({"ok.txt": b"fine", "/tmp/escaped.txt": b"x"}),
     "InvalidFile.UnsafeEntry"),
    ("backslash.zip", lambda: zip_bytes({"ok.txt": b"fine", "..\\..\\escaped.txt": b"x"}),
     "InvalidFile.UnsafeEntry"),
    ("symlink.zip", symlink_zip, "InvalidFile.UnsafeEntry"),
    ("symlink.tar", lambda: tar_with(_tar_member("link", tarfile.SYMTYPE, "/etc/passwd")),
     "InvalidFile.UnsafeEntry"),
    ("hardlink.tar", lambda: tar_with(_tar_member("hard", tarfile.LNKTYPE, "/etc/passwd")),
     "InvalidFile.UnsafeEntry"),
    ("device.tar", lambda: tar_with(_tar_member("null", tarfile.CHRTYPE)),
     "InvalidFile.UnsafeEntry"),
    ("deep.zip", lambda: zip_bytes({"ok.txt": b"fine", "d/" * 600 + "f.txt": b"deep"}),
     "InvalidFile.UnsafeEntry"),  # the key would pass OSS's 1023 bytes
    ("dup-then-under.zip",
     lambda: zip_pairs([("ok.txt", b"fine"), ("dup.txt", b"a"), ("dup.txt/inner.txt", b"b")]),
     "InvalidFile.UnsafeEntry"),
    ("under-then-dup.zip",
     lambda: zip_pairs([("ok.txt", b"fine"), ("dup.txt/inner.txt", b"b"), ("dup.txt", b"a")]),
     "InvalidFile.UnsafeEntry"),
    ("twice.zip", lambda: zip_pairs([("ok.txt", b"fine"), ("ok.txt", b"other")]),
     "InvalidFile.UnsafeEntry"),
    ("long-name.zip", lambda: zip_pairs([("ok.txt", b"fine"), ("n" * 300 + ".txt", b"x")]),
     "InvalidFile.UnsafeEntry"),
    ("bomb.zip", zip_bomb, "InvalidFile.CompressionRatio"),
    ("claims-4gb.zip", lambda: forged_zip([(2**32 - 1, 900)]), "InvalidFile.CompressionRatio"),
    ("claims-12gb.zip", lambda: forged_zip([(3 * 1024**3, 100 * 1024**2)] * 4),
     "InvalidFile.UncompressedTooLarge"),
    ("many.zip", lambda: many_entries(80_001), "InvalidFile.TooManyEntries"),
    ("not-an-archive.zip", lambda: b"just text, no archive" * 100,
     "InvalidFile.UnsupportedArchive"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_archives_are_refused_and_write_nothing(
    service: Service, client: Client, receiver: Receiver, name: str, make: Any, code: str
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/in/{name}", make())
    before = {p for p in service.storage.rglob("*")}

    delivery = uncompress(
        client, receiver, source_uri=source, target_uri=f"oss://{BUCKET}/{run}/out/"
    )

    failed(delivery, code)
    assert objects_under(service, f"{run}/out") == {}  # not even ok.txt
    after = {p for p in service.storage.rglob("*")}
    assert after == before  # nothing written anywhere, inside the storage root or out of it
    assert not list(service.storage.parent.rglob("escaped.txt"))
    assert not Path("/tmp/escaped.txt").exists()


# --- ArchiveFileInspection ----------------------------------------------------------------


def test_inspection_lists_the_entries(service: Service, client: Client, receiver: Receiver) -> None:
    run = run_dir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("docs/", (2023, 1, 2, 3, 4, 6)), b"")
        readme = zipfile.ZipInfo("docs/readme.txt", (2023, 1, 2, 3, 4, 6))
        zf.writestr(readme, b"r" * 1000, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("../slip.txt", (2024, 2, 3, 4, 5, 6)), b"not extracted")
    source = service.put(BUCKET, f"{run}/listing.zip", buf.getvalue())
    details = f"oss://{BUCKET}/{run}/details.json"
    request = m.CreateArchiveFileInspectionTaskRequest(
        source_uri=source,
        notification=m.Notification(mns=m.MNS(topic_name=TOPIC), extended_message_uri=details),
    )

    _, delivery = submit(client, receiver, client.create_archive_file_inspection_task, request)

    content = succeeded(delivery)
    assert content["ArchiveFormat"] == "zip"
    assert content["FileCount"] == 2 and content["EntryCount"] == 3
    assert content["TotalSize"] == 1000 + len(b"not extracted")
    files = {f["Path"]: f for f in content["Files"]}
    assert list(files) == ["docs/", "docs/readme.txt", "../slip.txt"]
    assert files["docs/"]["IsDir"] is True
    assert files["docs/readme.txt"] == {
        "Path": "docs/readme.txt",
        "Size": 1000,
        "CompressedSize": files["docs/readme.txt"]["CompressedSize"],
        "ModifiedTime": "2023-01-02T03:04:06.000000Z",
        "IsDir": False,
    }
    assert files["docs/readme.txt"]["CompressedSize"] < 1000
    assert content["Truncated"] is False
    assert not (service.storage / BUCKET / "slip.txt").exists()
    # The full details also land in Notification.ExtendedMessageURI.
    written = json.loads(service.object(details).read_text())
    assert [f["Path"] for f in written["Files"]] == list(files)
    assert written["TaskId"] == content["TaskId"]
