"""The API side never loads the worker side (LibreOffice bridge, PyMuPDF, processors)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import imm_engine.api.app, imm_engine.service.cli, imm_engine.notify.dispatcher
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('workers', 'pymupdf', 'fitz', 'uno'))
print(','.join(loaded))
"""


def test_api_imports_no_worker_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
