"""Document formats: which source types IMM accepts and how each is converted (pure)."""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    WORD = "word"
    PRESENTATION = "presentation"
    SPREADSHEET = "spreadsheet"
    PDF = "pdf"
    #: Opened by PyMuPDF directly (e-books).
    EBOOK = "ebook"


#: IMM's documented source types, plus what LibreOffice or PyMuPDF also opens well.
SOURCE_TYPES: dict[str, Family] = {
    **dict.fromkeys(
        ("doc", "docx", "wps", "wpss", "docm", "dotm", "dot", "dotx",
         "odt", "ott", "rtf", "txt", "html", "htm"),
        Family.WORD,
    ),
    **dict.fromkeys(
        ("pptx", "ppt", "pot", "potx", "pps", "ppsx", "dps", "dpt", "pptm", "potm", "ppsm",
         "dpss", "odp", "otp"),
        Family.PRESENTATION,
    ),
    **dict.fromkeys(
        ("xls", "xlt", "et", "ett", "xlsx", "xltx", "csv", "xlsb", "xlsm", "xltm", "ets",
         "ods", "ots"),
        Family.SPREADSHEET,
    ),
    "pdf": Family.PDF,
    "epub": Family.EBOOK,
}  # fmt: skip

TARGET_TYPES = ("png", "jpg", "pdf", "txt")
#: Older documentation revisions spell txt as "text".
TARGET_ALIASES = {"text": "txt", "jpeg": "jpg"}
IMAGE_TARGETS = ("png", "jpg")
