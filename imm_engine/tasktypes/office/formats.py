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

#: Plain-text sources beyond IMM's list (source code, markup, configuration, logs): opened by
#: LibreOffice Writer as plain UTF-8 text, one page after another, in a monospace-free layout.
PLAIN_TEXT_TYPES = frozenset(
    {
        "txt", "text", "log", "md", "markdown", "rst", "json", "xml", "yaml", "yml", "toml",
        "ini", "cfg", "conf", "properties", "sql", "sh", "bat", "cmd", "ps1", "py", "java",
        "js", "mjs", "ts", "jsx", "tsx", "c", "h", "cc", "cpp", "hpp", "cs", "go", "rs", "rb",
        "php", "pl", "kt", "swift", "scala", "lua", "r", "m", "asm", "s", "vue", "css", "scss",
        "less", "lrc", "srt", "vtt", "tex",
    }
)  # fmt: skip
SOURCE_TYPES.update(dict.fromkeys(PLAIN_TEXT_TYPES, Family.WORD))

TARGET_TYPES = ("png", "jpg", "pdf", "txt")
#: Older documentation revisions spell txt as "text".
TARGET_ALIASES = {"text": "txt", "jpeg": "jpg"}
IMAGE_TARGETS = ("png", "jpg")
