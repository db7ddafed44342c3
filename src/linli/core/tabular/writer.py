"""Write sheets, empty templates and error reports as .xlsx, streaming (write-only mode)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, overload

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from linli.core.tabular.spec import KIND_HINTS, Column, Kind, Sheet

if TYPE_CHECKING:
    from linli.core.tabular.report import Report

Target = str | Path | IO[bytes]
"""Where a workbook goes: a path or a binary file object."""

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
_FORMATS = {Kind.TEXT: TEXT_FORMAT, Kind.INT: "0", Kind.DECIMAL: "General", Kind.DATE: DATE_FORMAT}
_WIDTHS = {Kind.TEXT: 20, Kind.INT: 10, Kind.DECIMAL: 12, Kind.DATE: 12}
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")

BOLD = Font(bold=True)
REQUIRED_FONT = Font(bold=True, color="C00000")
WRAP = Alignment(wrap_text=True, vertical="top")

INSTRUCTIONS_TITLE = _("说明")
INSTRUCTION_HEADERS = (_("列名"), _("必填"), _("格式"), _("说明"))
YES, NO = _("是"), _("否")
KIND_AT_MOST = _("%(kind)s，最多 %(limit)s 个字")
NOTES = (
    _("请在“%(sheet)s”工作表中填写，每行一条；第一行是列名，请勿修改。红色列名为必填。"),
    _("文本列（如证件号码）已设为文本格式，请勿改成数字，否则长数字会被改成科学计数法。"),
    _("不要使用公式；一个文件最多 %(rows)s 行。"),
)
REPORT_TITLE = _("错误报告")
REPORT_HEADERS = (_("行号"), _("列"), _("内容"), _("问题"), _("代码"))
MORE_PROBLEMS = _("另有 %(count)s 个问题未列出。")


@overload
def write_xlsx(
    sheet: Sheet, rows: Iterable[Mapping[str, Any]], *, language: str = ..., target: None = None
) -> bytes: ...
@overload
def write_xlsx(
    sheet: Sheet, rows: Iterable[Mapping[str, Any]], *, language: str = ..., target: Target
) -> None: ...
def write_xlsx(
    sheet: Sheet,
    rows: Iterable[Mapping[str, Any]],
    *,
    language: str = "zh-hans",
    target: Target | None = None,
) -> bytes | None:
    """Write rows (mappings by column key) to one sheet; return the bytes when no target."""
    book = Workbook(write_only=True)
    ws = _data_sheet(book, sheet, language, template=False)
    columns = sheet.columns
    for values in rows:
        ws.append([_cell(ws, c, values.get(c.key)) for c in columns])
    return _save(book, target)


@overload
def template_xlsx(
    sheet: Sheet, language: str = ..., *, max_rows: int = ..., target: None = None
) -> bytes: ...
@overload
def template_xlsx(
    sheet: Sheet, language: str = ..., *, max_rows: int = ..., target: Target
) -> None: ...
def template_xlsx(
    sheet: Sheet,
    language: str = "zh-hans",
    *,
    max_rows: int = 100_000,
    target: Target | None = None,
) -> bytes | None:
    """Write an empty template: the headings, column formats, and a 说明 sheet."""
    book = Workbook(write_only=True)
    title = _data_sheet(book, sheet, language, template=True).title
    with translation.override(language):
        notes = book.create_sheet(_title(str(INSTRUCTIONS_TITLE)))
        for letter, width in zip("ABCD", (24, 8, 36, 50), strict=True):
            notes.column_dimensions[letter].width = width
        notes.append([_styled(notes, str(h), BOLD) for h in INSTRUCTION_HEADERS])
        for column in sheet.columns:
            notes.append(
                [
                    _text(notes, column.header_in(language)),
                    str(YES if column.required else NO),
                    _text(notes, _format_hint(column)),
                    _styled(notes, str(column.hint), alignment=WRAP),
                ]
            )
        notes.append([])
        for note in NOTES:
            notes.append([_text(notes, str(note) % {"sheet": title, "rows": max_rows})])
    return _save(book, target)


def write_report(
    report: Report, target: Target | None = None, *, language: str | None = None
) -> bytes | None:
    """Write a report's problems to a 错误报告 sheet; return the bytes when no target."""
    language = language or "zh-hans"
    book = Workbook(write_only=True)
    with translation.override(language):
        ws = book.create_sheet(_title(str(REPORT_TITLE)))
        for letter, width in zip("ABCDE", (8, 18, 30, 60, 22), strict=True):
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "A2"
        ws.append([_styled(ws, str(h), BOLD) for h in REPORT_HEADERS])
        for e in report.sorted():
            header = report.sheet.header_of(e.column, language) if e.column else ""
            ws.append(
                [
                    e.row,
                    _text(ws, header),
                    _text(ws, e.value),
                    _styled(ws, e.reason_in(language), alignment=WRAP),
                    e.code,
                ]
            )
        if report.omitted:
            ws.append(["", "", "", _text(ws, str(MORE_PROBLEMS) % {"count": report.omitted})])
    return _save(book, target)


def _data_sheet(book: Workbook, sheet: Sheet, language: str, *, template: bool) -> Any:
    ws = book.create_sheet(_title(sheet.title_in(language)))
    for i, column in enumerate(sheet.columns, start=1):
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = _width(column, language)
        # Cells typed later in this column (in the template) take the column's format.
        dim.number_format = _FORMATS[column.kind]
    ws.freeze_panes = "A2"
    ws.append(
        [
            _styled(ws, c.header_in(language), REQUIRED_FONT if template and c.required else BOLD)
            for c in sheet.columns
        ]
    )
    return ws


def _cell(ws: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    """Return the cell for one value: text as text (never a number or a formula)."""
    if column.to_cell is not None:
        value = column.to_cell(value)
    if value is None or value == "":
        return None
    kind = column.kind
    if kind is Kind.DATE and isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value.date() if isinstance(value, dt.datetime) else value)
        cell.number_format = DATE_FORMAT
        return cell
    if (
        kind in (Kind.INT, Kind.DECIMAL)
        and isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
    ):
        return value
    return _text(ws, value)


def _text(ws: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    """Return a cell that Excel shows as text, even for "=…" or "0123"."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(ws, text)
    cell.data_type = "s"  # openpyxl would make "=…" a formula
    cell.number_format = TEXT_FORMAT
    return cell


def _styled(
    ws: WriteOnlyWorksheet,
    value: str,
    font: Font | None = None,
    *,
    alignment: Alignment | None = None,
) -> WriteOnlyCell:
    cell = _text(ws, value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _format_hint(column: Column) -> str:
    hint = str(KIND_HINTS[column.kind])
    if column.kind is Kind.TEXT and column.max_length:
        return str(KIND_AT_MOST) % {"kind": hint, "limit": column.max_length}
    return hint


def _width(column: Column, language: str) -> float:
    if column.width:
        return column.width
    header = column.header_in(language)
    # CJK characters take about two character widths.
    header_width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in header)
    data_width = _WIDTHS[column.kind]
    if column.kind is Kind.TEXT and column.max_length:
        data_width = min(column.max_length, 40)
    return min(max(header_width, data_width, 6) + 2, 50)


def _title(text: str) -> str:
    """Return a valid worksheet title (at most 31 characters, none of []:*?/\\)."""
    return _BAD_TITLE.sub("_", text)[:31] or "Sheet"


def _save(book: Workbook, target: Target | None) -> bytes | None:
    if target is not None:
        book.save(target)
        return None
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
