"""The LibreOffice profile settings reach profiles made before they existed."""

from __future__ import annotations

from pathlib import Path

from workers.soffice.process import REGISTRY, enforce_registry

OLD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""  # noqa: E501


def test_an_old_profile_gets_the_network_block(tmp_path: Path) -> None:
    registry = tmp_path / "registrymodifications.xcu"
    registry.write_text(OLD, encoding="utf-8")
    enforce_registry(registry)
    text = registry.read_text(encoding="utf-8")
    for line in REGISTRY.splitlines():
        if line.startswith("<item "):
            assert text.count(line) == 1, line
    assert "FirstRun" in text  # what LibreOffice wrote is kept
    assert text.rstrip().endswith("</oor:items>")
    assert 'ooInetHTTPProxyPort" oor:op="fuse"><value>9<' in text


def test_a_current_profile_is_left_alone(tmp_path: Path) -> None:
    registry = tmp_path / "registrymodifications.xcu"
    registry.write_text(REGISTRY, encoding="utf-8")
    enforce_registry(registry)
    assert registry.read_text(encoding="utf-8") == REGISTRY
