"""Importing LibreOffice's Python-UNO bridge into our interpreter.

Debian ships `uno.py` for its own Python 3.11; our virtual environment runs a 3.11 built with
a shared libpython, so the same `pyuno.so` loads here. The module is loaded from its file:
Debian's package directory never goes on `sys.path`, so no other Debian module can shadow
ours (uno.py itself adds LibreOffice's program directory, where pyuno lives).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

UNO_DIRS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program")


class BridgeUnavailable(RuntimeError):
    pass


def import_uno() -> ModuleType:
    """LibreOffice's `uno` module, loaded from its file (a stray `uno` directory on the path,
    or another `uno` package, cannot shadow it)."""
    loaded = sys.modules.get("uno")
    if loaded is not None and hasattr(loaded, "getComponentContext"):
        return loaded
    for directory in UNO_DIRS:
        path = Path(directory) / "uno.py"
        if path.exists():
            module = _load("uno", path)
            helper = path.with_name("unohelper.py")
            if helper.exists():
                _load("unohelper", helper)
            return module
    raise BridgeUnavailable(
        "LibreOffice's Python bridge (python3-uno) is not installed; run `make deps`."
    )


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BridgeUnavailable(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[name]
        raise BridgeUnavailable(
            f"LibreOffice's Python bridge cannot be loaded into this Python ({exc}); "
            "it needs a Python 3.11 with a shared libpython."
        ) from exc
    return module


def prop(name: str, value: Any) -> Any:
    from com.sun.star.beans import PropertyValue

    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p
