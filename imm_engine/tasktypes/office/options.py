"""CreateOfficeConversionTask's rendering options: sheets, paper, long pictures, comments,
`TrimPolicy` and `Sources` (pure).

Everything the spec lists is either honoured or refused with `InvalidArgument` naming the
parameter; see docs/api-behaviour.md ("Rendering options") for what each one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid, missing
from imm_engine.targets import uris
from imm_engine.tasktypes.office.formats import IMAGE_TARGETS, Family

#: Paper sizes for `PaperSize`, portrait width x height in 1/100 mm (LibreOffice's unit).
#: IMM documents A0, A2 and A4; the rest are the usual printer sizes (B sizes are ISO).
PAPER_SIZES: dict[str, tuple[int, int]] = {
    "A0": (84100, 118900),
    "A1": (59400, 84100),
    "A2": (42000, 59400),
    "A3": (29700, 42000),
    "A4": (21000, 29700),
    "A5": (14800, 21000),
    "A6": (10500, 14800),
    "B4": (25000, 35300),
    "B5": (17600, 25000),
    "LETTER": (21590, 27940),
    "LEGAL": (21590, 35560),
}
#: Upper bounds we accept (a sheet has at most 1,048,576 rows and 16,384 columns).
MAX_SHEETS = 10_000
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
#: `TrimPolicy` keys (all booleans).
TRIM_KEYS = (
    "DisableDeleteEmptyCell",
    "DisableDeleteRepeatedStyle",
    "DisableDeleteUnusedPicture",
    "DisableDeleteUnusedShape",
)
#: Image types `Sources` may name, as IMM lists them.
SOURCE_IMAGE_TYPES = frozenset({"jpg", "jpeg", "jp2", "png", "tif", "tiff", "webp", "bmp", "svg"})
MAX_SOURCES = 100


@dataclass(frozen=True)
class SheetOptions:
    """The sheet options of a spreadsheet conversion (docs/api-behaviour.md, "Rendering
    options"); None or False: not set."""

    #: `SheetIndex` (1-based) and `SheetCount`: which sheets are converted (`sheet_range`).
    index: int | None = None
    count: int | None = None
    #: `MaxSheetRow`, `MaxSheetColumn`: the print area of each sheet converted.
    max_rows: int | None = None
    max_columns: int | None = None
    fit_width: bool = False
    fit_height: bool = False
    #: A key of PAPER_SIZES.
    paper: str | None = None
    landscape: bool = False

    def to_record(self) -> dict[str, Any]:
        """The options that are set, as the job record holds them."""
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> SheetOptions:
        """As `Job.from_record`: unknown keys are ignored, missing ones are not set."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def parse_sheet_options(params: Params) -> SheetOptions:
    """`SheetIndex`, `SheetCount`, `MaxSheetRow`, `MaxSheetColumn`, `FitToWidth`/`FitToHeight`
    (and their 2017 names `FitToPagesWide`/`FitToPagesTall`), `PaperSize`, `PaperHorizontal`,
    checked in that order."""
    index = params.get_int("SheetIndex", lo=1, hi=MAX_SHEETS)
    count = params.get_int("SheetCount", lo=1, hi=MAX_SHEETS)
    rows = params.get_int("MaxSheetRow", lo=1, hi=MAX_ROWS)
    columns = params.get_int("MaxSheetColumn", lo=1, hi=MAX_COLUMNS)
    fit_width = _bool_alias(params, "FitToWidth", "FitToPagesWide")
    fit_height = _bool_alias(params, "FitToHeight", "FitToPagesTall")
    paper = params.get_str("PaperSize", max_bytes=16)
    key = None
    if paper is not None:
        key = paper.strip().upper()
        if key not in PAPER_SIZES:
            raise invalid(
                "PaperSize",
                f"'{paper}' is not a paper size; one of {', '.join(_paper_names())}",
            )
    return SheetOptions(
        index=index,
        count=count,
        max_rows=rows,
        max_columns=columns,
        fit_width=fit_width,
        fit_height=fit_height,
        paper=key,
        landscape=params.get_bool("PaperHorizontal"),
    )


def _paper_names() -> list[str]:
    return [n if n.startswith(("A", "B")) else n.title() for n in PAPER_SIZES]


def _bool_alias(params: Params, name: str, legacy: str) -> bool:
    value = params.get_bool(name)
    old = params.get_bool(legacy)
    if name in params and legacy in params and value != old:
        raise invalid(legacy, f"it contradicts {name}; give only {name}")
    return value or old


def sheet_range(options: SheetOptions) -> tuple[int, int | None]:
    """The 1-based first sheet and the number of sheets (None: to the last) to convert.

    `SheetIndex` alone converts that one sheet; `SheetCount` alone the first N sheets; both,
    N sheets from `SheetIndex`; neither, every sheet."""
    if options.index is None:
        return 1, options.count
    return options.index, 1 if options.count is None else options.count


def parse_trim_policy(params: Params) -> dict[str, bool]:
    """`TrimPolicy`: each key must be known and boolean. See docs for why every combination
    is honoured by LibreOffice's rendering."""
    policy = params.get_json("TrimPolicy", dict)
    if policy is None:
        return {}
    out: dict[str, bool] = {}
    for key, value in policy.items():
        if key not in TRIM_KEYS:
            raise invalid("TrimPolicy", f"unknown key '{key}'; known: {', '.join(TRIM_KEYS)}")
        if not isinstance(value, bool):
            raise invalid("TrimPolicy", f"{key} must be true or false")
        out[key] = value
    return out


def parse_sources(params: Params) -> list[dict[str, Any]] | None:
    """`Sources`: `[{"URI": "oss://...", "Rotate": 0|90|180|270}]`, images only, in order."""
    sources = params.get_json("Sources", list, max_bytes=256 * 1024)
    if sources is None:
        return None
    if not sources:
        raise invalid("Sources", "it is an empty list")
    if len(sources) > MAX_SOURCES:
        raise invalid("Sources", f"more than {MAX_SOURCES} images")
    out: list[dict[str, Any]] = []
    for n, item in enumerate(sources, 1):
        if not isinstance(item, dict):
            raise invalid("Sources", f"item {n} is not a JSON object")
        unknown = sorted(set(item) - {"URI", "Rotate"})
        if unknown:
            raise invalid("Sources", f"item {n} has unknown key(s) {', '.join(unknown)}")
        uri = item.get("URI")
        if not isinstance(uri, str) or not uri:
            raise missing("Sources.URI") if uri is None else invalid("Sources", "URI is not text")
        parsed = uris.parse_object(uri, f"Sources[{n}].URI")
        if parsed.ext.lower() not in SOURCE_IMAGE_TYPES:
            raise invalid(
                "Sources",
                f"item {n} ({parsed.basename}) is not an image of a supported type "
                f"({', '.join(sorted(SOURCE_IMAGE_TYPES))})",
            )
        rotate = item.get("Rotate", 0)
        if (
            not isinstance(rotate, int)
            or isinstance(rotate, bool)
            or rotate % 90
            or not (0 <= rotate < 360)
        ):
            raise invalid("Sources", f"item {n}: Rotate must be 0, 90, 180 or 270")
        out.append({"URI": str(parsed), "Rotate": rotate})
    return out


@dataclass(frozen=True)
class RenderOptions:
    """`LongPicture`, `FirstPage`, `ShowComments` and the sheet options, as the job holds them."""

    long_picture: bool = False
    first_page: bool = False
    show_comments: bool = False
    #: Spreadsheet sources with an option set only.
    sheet: SheetOptions | None = None


def parse_render_options(params: Params, *, family: Family, target_type: str) -> RenderOptions:
    """`LongPicture`, `FirstPage`, `ShowComments` and the sheet options, checked against the
    source and target."""
    long_picture = params.get_bool("LongPicture")
    first_page = params.get_bool("FirstPage")
    for name, value in (("LongPicture", long_picture), ("FirstPage", first_page)):
        if value and target_type not in IMAGE_TARGETS:
            raise invalid(name, f"it applies to png and jpg output, not {target_type}")
    show_comments = params.get_bool("ShowComments")

    sheet = parse_sheet_options(params)
    applies = family == Family.SPREADSHEET and target_type != "txt" and sheet != SheetOptions()
    # Other sources (and spreadsheet text, which IMM documents as one file of every sheet):
    # the sheet options have no effect, as IMM documents. They were still validated above.
    parse_trim_policy(params)
    return RenderOptions(long_picture, first_page, show_comments, sheet if applies else None)
