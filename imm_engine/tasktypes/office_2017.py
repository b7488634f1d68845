"""IMM 2017-09-06 office conversion parameters as the 2020 task's (pure).

`CreateOfficeConversionTask` and `ConvertOfficeFormat` of the old SDKs
(`aliyunsdkimm.request.v20170906`) become the parameters of the 2020
`CreateOfficeConversionTask`, so a 2017 task is validated, queued, converted and recorded by
exactly the code that runs a 2020 one. What the 2017 API adds is translated here:

* names: `TgtUri` is a prefix, and the outputs are `TgtUri + TgtFilePrefix + [x] +
  (TgtFileSuffix or .ext)`, a TargetURI template with `{index}` (see `target_template`);
* defaults: `EndPage` 200 pages from `StartPage`, `MaxSheetRow` 1000, `MaxSheetCol` 100,
  comments shown unless `Hidecomments` (2020 hides them unless `ShowComments`);
* `TgtType=text` is one `1.txt` of every converted page; `vector` is refused.

See docs/legacy-2017.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imm_engine.api.params import SIGNATURE_PARAMS, Params, loads_json
from imm_engine.errors import ApiError, invalid

VERSION = "2017-09-06"
#: 2017 TgtType -> 2020 TargetType.
TARGET_TYPES = {
    "png": "png",
    "jpg": "jpg",
    "jpeg": "jpg",
    "pdf": "pdf",
    "text": "txt",
    "txt": "txt",
}
#: Target types whose names take TgtFilePrefix / TgtFileSuffix / TgtFilePages.
NAMED_TYPES = frozenset({"png", "jpg", "pdf"})
DEFAULT_PAGES = 200
DEFAULT_MAX_SHEET_ROW = 1000
DEFAULT_MAX_SHEET_COL = 100
MAX_FILE_PAGES = 100
MAX_AFFIX_CHARS = 256
#: The 2017 parameters each 2020 name came from, to name them in error messages.
NAMES_2017 = {
    "ProjectName": "Project",
    "SourceURI": "SrcUri",
    "SourceType": "SrcType",
    "TargetType": "TgtType",
    "TargetURI": "TgtUri",
    "TargetURIPrefix": "TgtUri",
    "Pages": "TgtFilePages",
    "ImageDPI": "DisplayDpi",
    "MaxSheetColumn": "MaxSheetCol",
    "SheetCount": "MaxSheetCount",
    "ShowComments": "Hidecomments",
    "FitToWidth": "SheetOnePage",
    "FitToHeight": "SheetOnePage",
}
#: Fields GetOfficeConversionTask / ListOfficeConversionTask echo as requested.
ECHOED = (
    "SrcUri",
    "TgtUri",
    "TgtType",
    "NotifyTopicName",
    "NotifyEndpoint",
    "ExternalID",
    "ImageSpec",
)
_AFFIX_CHAR = re.compile(r"[\w-]", re.UNICODE)


@dataclass(frozen=True)
class Translated:
    #: The 2020 CreateOfficeConversionTask parameters.
    params: Params
    #: The 2020 TargetType (png, jpg, pdf, txt).
    target_type: str
    #: What the 2017 answers echo (ECHOED), "" when not sent.
    echo: dict[str, str]


def not_supported_vector() -> ApiError:
    return ApiError(
        "InvalidParameter.TgtType.NotSupported",
        "The input parameter TgtType is not supported: vector (the HTML5 preview format of "
        "IMM's old document viewer) is not produced by this server; use png, jpg, pdf or text.",
        400,
    )


def translate(params: Params) -> Translated:
    """The 2020 request a 2017 one stands for; ApiError names the 2017 parameter at fault."""
    project = params.get_str("Project", required=True, max_bytes=128) or ""
    src = params.get_str("SrcUri", required=True, max_bytes=2048) or ""
    tgt = params.get_str("TgtUri", required=True, max_bytes=2048) or ""
    kind = (params.get_str("TgtType", max_bytes=16) or "").strip().lower()
    if not kind:
        raise ApiError(
            "MissingTgtType",
            "TgtType is mandatory on this server: png, jpg, pdf or text (vector, the old "
            "default, is not produced).",
        )
    if kind == "vector":
        raise not_supported_vector()
    target_type = TARGET_TYPES.get(kind)
    if target_type is None:
        raise invalid("TgtType", f"'{kind[:16]}' is not one of png, jpg, pdf, text")

    out: list[tuple[str, str]] = [
        ("ProjectName", project),
        ("SourceURI", src),
        ("TargetType", target_type),
        ("TargetURI", target_template(tgt, params, target_type)),
    ]
    src_type = params.get_str("SrcType", max_bytes=16)
    if src_type:
        out.append(("SourceType", src_type))
    out += _pages(params, target_type)
    out += _sheets(params)
    if target_type == "txt":
        out.append(("LongText", "true"))
    if not params.get_bool("Hidecomments"):
        out.append(("ShowComments", "true"))
    for name, new in (
        ("Password", "Password"),
        ("DisplayDpi", "ImageDPI"),
        ("UserData", "UserData"),
    ):
        value = params.get_str(name, max_bytes=4096)
        if value is not None:
            out.append((new, value))
    echo = {name: params.get_str(name, max_bytes=2048) or "" for name in ECHOED}
    echo["TgtType"] = kind
    return Translated(Params(out), target_type, echo)


def target_template(tgt: str, params: Params, target_type: str) -> str:
    """`TgtUri` + `TgtFilePrefix` + `{index}` + (`TgtFileSuffix` or `.{autoext}`).

    The documented table: no prefix and no suffix give `1.png`; a suffix replaces the
    extension (`def` keeps it); a prefix alone gives names without an extension (`aa1`).
    Text output ignores both (one `1.txt`). Letters and digits of every script are allowed
    in both (`报告-1.png`), plus `_` and `-`; a suffix may also hold dots (`.jpeg`)."""
    prefix = suffix = ""
    if target_type in NAMED_TYPES:
        prefix = _affix(params, "TgtFilePrefix", dots=False)
        suffix = _affix(params, "TgtFileSuffix", dots=True)
    keep_extension = suffix == "def" or (not suffix and not prefix)
    ending = ".{autoext}" if keep_extension else _escape(suffix)
    return f"{_escape(tgt)}{_escape(prefix)}{{index}}{ending}"


def _affix(params: Params, name: str, *, dots: bool) -> str:
    value = params.get_str(name, max_bytes=4 * MAX_AFFIX_CHARS) or ""
    if len(value) > MAX_AFFIX_CHARS:
        raise invalid(name, f"it is longer than {MAX_AFFIX_CHARS} characters")
    bad = [ch for ch in value if not (_AFFIX_CHAR.fullmatch(ch) or (dots and ch == "."))]
    if bad:
        allowed = "letters, digits, '_', '-'" + (" and '.'" if dots else "")
        raise invalid(name, f"{bad[0]!r} is not allowed; use {allowed}")
    return value


def _pages(params: Params, target_type: str) -> list[tuple[str, str]]:
    """StartPage (1), EndPage (StartPage + 199; -1 = to the last page) and TgtFilePages."""
    start = params.get_int("StartPage", lo=-(2**31), hi=2**31)
    end = params.get_int("EndPage", lo=-(2**31), hi=2**31)
    first = 1 if start is None else start
    if first < 1:
        raise invalid("StartPage", "page numbers start at 1")
    last: int | None = first + DEFAULT_PAGES - 1 if end is None else (None if end == -1 else end)
    if last is not None and last < first:
        raise invalid("EndPage", f"EndPage {last} is before StartPage {first}")
    listed = _file_pages(params) if target_type in NAMED_TYPES else None
    if listed is None:
        return [("StartPage", str(first)), ("EndPage", str(-1 if last is None else last))]
    chosen = [p for p in listed if p >= first and (last is None or p <= last)]
    if not chosen:
        raise invalid(
            "TgtFilePages", f"none of its pages is within StartPage {first} to EndPage {last}"
        )
    return [("Pages", ",".join(map(str, chosen)))]


def _file_pages(params: Params) -> list[int] | None:
    """`TgtFilePages`: `[1,2,100]` (JSON), at most 100 pages; `1,2,100` is read too."""
    text = params.get_str("TgtFilePages", max_bytes=4096)
    if text is None:
        return None
    try:
        value = loads_json(text if text.lstrip().startswith("[") else f"[{text}]")
    except ValueError:
        raise invalid("TgtFilePages", "write a list of page numbers such as [1,2,100]") from None
    if not isinstance(value, list) or not value:
        raise invalid("TgtFilePages", "write a non-empty list of page numbers such as [1,2,100]")
    if len(value) > MAX_FILE_PAGES:
        raise invalid("TgtFilePages", f"it lists more than {MAX_FILE_PAGES} pages")
    if not all(
        isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 1_000_000 for p in value
    ):
        raise invalid("TgtFilePages", "page numbers are whole numbers from 1")
    return sorted(set(value))


def _sheets(params: Params) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, new, default in (
        ("MaxSheetRow", "MaxSheetRow", DEFAULT_MAX_SHEET_ROW),
        ("MaxSheetCol", "MaxSheetColumn", DEFAULT_MAX_SHEET_COL),
        ("MaxSheetCount", "SheetCount", None),
    ):
        value = params.get_int(name, lo=-1, hi=1_048_576)
        if value == 0:
            raise invalid(name, "use -1 for all, or a number from 1")
        value = default if value is None else value
        if value is not None and value != -1:
            out.append((new, str(value)))
    if params.get_bool("SheetOnePage"):
        out += [("FitToWidth", "true"), ("FitToHeight", "true")]
    for name in ("FitToPagesWide", "FitToPagesTall"):
        if params.get_bool(name):
            out.append((name, "true"))
    return out


def idempotency_material(params: Params) -> str | None:
    """The request as `IdempotentToken` compares it (every business parameter, sorted), or
    None when the request has no token."""
    if not params.get_str("IdempotentToken", max_bytes=256):
        return None
    pairs = sorted((k, v) for k, v in params.values.items() if k not in SIGNATURE_PARAMS)
    return "\n".join(f"{k}={v}" for k, v in pairs)


_PARAM_MESSAGE = re.compile(r"The parameter (\w+) is invalid: ")


def as_2017(err: ApiError) -> ApiError:
    """A 2020 validation error as the 2017 API names it: `InvalidParameter.<2017 name>`,
    with the 2017 parameter name in the message."""
    match = _PARAM_MESSAGE.match(err.message) if err.code == "InvalidArgument" else None
    if match:
        name = NAMES_2017.get(match.group(1), match.group(1))
        rest = err.message[match.end() :]
        for new, old in NAMES_2017.items():
            rest = re.sub(rf"\b{new}\b", old, rest)
        return ApiError(
            f"InvalidParameter.{name}", f"The input parameter {name} is not valid: {rest}", 400
        )
    if err.code.startswith("Missing"):
        name = NAMES_2017.get(err.code[7:], err.code[7:])
        return ApiError(f"Missing{name}", f"{name} is mandatory for this action.", err.status)
    return err


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


#: 2020 failure codes -> the 2017 FailDetail.Code a 2017 client checks for.
FAIL_CODES = {
    "ResourceNotFound": "FailedToDownloadSrcFile",
    "SourceReadFailed": "FailedToDownloadSrcFile",
    "InvalidFile": "OpenFileError",
    "InvalidFile.TooLarge": "OpenFileError",
    "PasswordRequired": "OpenFileError",
    "InvalidPassword": "OpenFileError",
    "TargetWriteFailed": "WriteTgtUriFailed",
    "ConvertTimeout": "ConvertTimeout",
    "UnsupportedTaskType": "UnsupportedSrcFile",
}


def fail_code(status: str, code: str) -> str:
    """FailDetail.Code: `NoError` unless the task failed; then its code in 2017 terms (codes
    without a 2017 equivalent, such as AccessDenied or InternalError, as they are)."""
    if status != "Failed":
        return "NoError"
    return FAIL_CODES.get(code, code or "InternalError")


def status_2017(status: str) -> str:
    """2017's Running / Finished / Failed."""
    return "Finished" if status == "Succeeded" else status


def page_count(target_type: str, result: dict[str, object]) -> int:
    """Pages converted: one per image written; the document's pages for pdf and text."""
    key = "TargetCount" if target_type in ("png", "jpg") else "PageCount"
    value = result.get(key, 0)
    return value if isinstance(value, int) else 0
