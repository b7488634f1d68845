"""Importing LibreOffice's Python-UNO bridge into our interpreter.

Debian ships `uno.py` for its own Python 3.11; our virtual environment runs a 3.11 built with
a shared libpython, so the same `pyuno.so` loads here. The Debian directory is put on the
path only for this import and taken off again, so no other Debian module can shadow ours.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

UNO_DIRS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program")


class BridgeUnavailable(RuntimeError):
    pass


def import_uno() -> ModuleType:
    try:
        return importlib.import_module("uno")
    except ImportError:
        pass
    added = [d for d in UNO_DIRS if d not in sys.path]
    sys.path.extend(added)
    try:
        module = importlib.import_module("uno")
        importlib.import_module("unohelper")
        return module
    except ImportError as exc:
        raise BridgeUnavailable(
            "LibreOffice's Python bridge (python3-uno) cannot be imported: "
            f"{exc}. Install it with `make deps`."
        ) from exc
    finally:
        for d in added:
            if d in sys.path and d != "/usr/lib/libreoffice/program":
                sys.path.remove(d)


def prop(name: str, value: Any) -> Any:
    from com.sun.star.beans import PropertyValue

    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p
