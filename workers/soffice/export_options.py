"""What a conversion changes in the loaded document before LibreOffice exports it.

Spreadsheets: the sheets outside `SheetIndex`/`SheetCount` are hidden; `MaxSheetRow` and
`MaxSheetColumn` become print areas; `FitToWidth`/`FitToHeight`, `PaperSize` and
`PaperHorizontal` go into the page styles of the sheets converted; `ShowComments` prints the
cell comments; `LongPicture` lays each sheet out as one page. Everything happens on the
document in memory (it is never saved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imm_engine.errors import TaskFailure
from imm_engine.tasktypes.office.formats import Family
from imm_engine.tasktypes.office.options import PAPER_SIZES, SheetOptions, sheet_range
from imm_engine.tasktypes.office_conversion import OfficeJob

#: LongPicture sheets: one page as large as LibreOffice allows (5 m, 1/100 mm), cropped to
#: the content afterwards; content larger than that is scaled down to fit.
LONG_PAGE = 500_000
LONG_MARGIN = 500  # 5 mm
PAGE_STYLE_FAMILY = "PageStyles"


@dataclass
class ExportOptions:
    #: The job's sheet options (see imm_engine/tasktypes/office/options.py).
    sheet: SheetOptions = field(default_factory=SheetOptions)
    long_picture: bool = False
    show_comments: bool = False

    @classmethod
    def for_job(cls, job: OfficeJob) -> ExportOptions | None:
        """What LibreOffice changes in a spreadsheet before exporting it (None: nothing)."""
        if job.family != Family.SPREADSHEET:
            return None
        if job.target_type == "txt":  # IMM: one text of every sheet; comments still count
            return cls(show_comments=True) if job.show_comments else None
        long_layout = job.long_picture and not job.first_page
        if not (job.sheet or long_layout or job.show_comments):
            return None
        return cls(
            sheet=job.sheet_options,
            long_picture=long_layout,
            show_comments=job.show_comments,
        )

    def apply(self, doc: Any, export_filter: str) -> None:
        if export_filter == "calc_pdf_Export":
            self._apply_sheets(doc)

    @property
    def hides_sheets(self) -> bool:
        """Sheets are hidden, which LibreOffice allows only in a document opened for editing
        (it is never saved)."""
        return self.sheet.index is not None or self.sheet.count is not None

    def _apply_sheets(self, doc: Any) -> None:
        sheets = doc.Sheets
        total = sheets.getCount()
        first, count = sheet_range(self.sheet)
        if first > total:
            raise TaskFailure(
                "InvalidArgument.SheetIndex",
                f"SheetIndex is {first}, but the workbook has {total} sheet(s).",
            )
        last = total if count is None else min(total, first + count - 1)
        chosen = range(first - 1, last)
        if self.hides_sheets:
            # Hidden, not removed: formulas that refer to other sheets keep their values.
            for position in chosen:  # shown first: a workbook needs one visible sheet
                sheets.getByIndex(position).IsVisible = True
            for position in range(total):
                if position not in chosen:
                    sheets.getByIndex(position).IsVisible = False

        styles = doc.StyleFamilies.getByName(PAGE_STYLE_FAMILY)
        done: set[str] = set()
        for position in chosen:
            sheet = sheets.getByIndex(position)
            self._limit_area(sheet, position)
            name = sheet.PageStyle
            if name not in done:
                done.add(name)
                self._page_style(styles.getByName(name))

    def _limit_area(self, sheet: Any, position: int) -> None:
        rows = self.sheet.max_rows
        columns = self.sheet.max_columns
        if rows is None and columns is None:
            return
        areas = list(sheet.getPrintAreas())
        if not areas:
            cursor = sheet.createCursor()
            cursor.gotoEndOfUsedArea(False)
            used = cursor.getRangeAddress()
            used.Sheet = position
            used.StartRow = 0
            used.StartColumn = 0
            areas = [used]
        clipped = []
        for area in areas:
            if rows is not None:
                area.EndRow = min(area.EndRow, area.StartRow + rows - 1)
            if columns is not None:
                area.EndColumn = min(area.EndColumn, area.StartColumn + columns - 1)
            clipped.append(area)
        sheet.setPrintAreas(tuple(clipped))

    def _page_style(self, style: Any) -> None:
        paper = self.sheet.paper
        landscape = self.sheet.landscape
        if paper is not None or landscape:
            width, height = PAPER_SIZES[paper] if paper else (style.Width, style.Height)
            short, long_ = min(width, height), max(width, height)
            style.IsLandscape = landscape
            style.Width, style.Height = (long_, short) if landscape else (short, long_)
        fit_width = self.sheet.fit_width
        fit_height = self.sheet.fit_height
        if fit_width or fit_height:
            style.ScaleToPagesX = 1 if fit_width else 0
            style.ScaleToPagesY = 1 if fit_height else 0
        if self.show_comments:
            style.PrintAnnotations = True
        if self.long_picture:
            # One page per sheet: as wide as the paper with FitToWidth, else unbounded.
            if not fit_width:
                style.Width = LONG_PAGE
            style.Height = LONG_PAGE
            for side in ("TopMargin", "BottomMargin", "LeftMargin", "RightMargin"):
                setattr(style, side, LONG_MARGIN)
            style.HeaderIsOn = False
            style.FooterIsOn = False
            style.ScaleToPagesX = 1
            style.ScaleToPagesY = 1
