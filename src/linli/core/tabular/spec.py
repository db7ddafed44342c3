"""What a sheet looks like: columns, their kinds, and how one cell becomes one value."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeAlias

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from linli.core import errors

Text: TypeAlias = str | Promise
"""A plain string or a lazily translated one (``gettext_lazy``)."""

SHOWN_LIMIT = 50
"""How many characters of a cell an error message repeats."""

# Excel keeps 15 significant digits; an integer this large may already have lost some.
_EXACT_INTEGER = 10**15
_INT = re.compile(r"[+-]?\d+")
_GROUPED_INT = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_GROUPED_DECIMAL = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")

REQUIRED = _("必须填写。")
FORMULA = _("不能使用公式，请填写数值本身（复制后“选择性粘贴 → 数值”）。")
TOO_LONG = _("最多 %(limit)s 个字，这里有 %(length)s 个字。")
TEXT_GOT_NUMBER = _(
    "此列应为文本，单元格却是数字：Excel 会把长数字（如证件号码）改成科学计数法并丢掉末几位。"
    "请把此列设为文本格式后重新输入。"
)
TEXT_GOT_DATE = _("此列应为文本，单元格却是日期。请把此列设为文本格式后重新输入。")
NUMBER_GOT_DATE = _("此列应为数字，单元格却是日期。")
DATE_GOT_NUMBER = _("此列应为日期，单元格却是数字。请按 2024-01-31 的格式填写。")
GOT_BOOLEAN = _("单元格是逻辑值（TRUE/FALSE），此列不接受。")
GOT_OTHER = _("单元格的类型（时间、错误值等）此列不接受。")
NOT_AN_INTEGER = _("应为整数。")
NOT_A_NUMBER = _("应为数字。")
NOT_A_DATE = _("日期无效，请按 2024-01-31 的格式填写。")
DATE_WITH_TIME = _("应为日期，不能带时间。")


class Kind(StrEnum):
    """What a column holds; decides which cell types it accepts and how text is read."""

    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"


KIND_HINTS: dict[Kind, Text] = {
    Kind.TEXT: _("文本"),
    Kind.INT: _("整数"),
    Kind.DECIMAL: _("数字"),
    Kind.DATE: _("日期，如 2024-01-31"),
}


class CellError(Exception):
    """A cell's value is unacceptable; raised by a column's ``parse`` or a sheet's ``check``.

    ``reason`` is a Chinese msgid (``gettext_lazy`` or a plain string), translated when the
    report is shown; ``params`` fill its ``%(name)s`` placeholders. In a sheet's ``check``,
    ``column`` names the column key the problem belongs to ("" for the whole row).
    """

    def __init__(
        self,
        reason: Text,
        code: str,
        *,
        params: Mapping[str, object] | None = None,
        column: str = "",
    ) -> None:
        self.reason = reason
        self.code = code
        self.params = dict(params or {})
        self.column = column
        super().__init__(code)


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    ``header`` is the Chinese heading (a msgid), ``header_en`` the English one; a file may
    use either. Blank optional cells give ``""`` in TEXT columns and ``None`` otherwise.
    ``parse`` receives the cell's value after the kind's own conversion (a trimmed ``str``
    for TEXT, ``int``, ``Decimal`` or ``datetime.date``) and returns the value to import or
    raises :class:`CellError` (a :class:`~linli.core.errors.ValidationFailed` from an
    identity check is accepted too). It must be deterministic: the importer reads the file
    twice. ``to_cell`` turns a value back into what the export writes. ``numbers_as_text``
    lets a TEXT column take whole-number cells (room "101") as their digits; leading zeros
    are then lost, so never use it for ID numbers.
    """

    key: str
    header: Text
    header_en: str
    kind: Kind = Kind.TEXT
    required: bool = False
    max_length: int | None = None
    parse: Callable[[Any], Any] | None = None
    hint: Text = ""
    numbers_as_text: bool = False
    to_cell: Callable[[Any], Any] | None = None
    width: int | None = None

    @cached_property
    def header_zh(self) -> str:
        """Return the Chinese heading, whatever language is active."""
        if isinstance(self.header, str):
            return self.header
        with translation.override("zh-hans"):
            return str(self.header)

    def header_in(self, language: str) -> str:
        """Return the heading for ``language`` (English for ``en*``, else Chinese)."""
        return self.header_en if is_english(language) else self.header_zh


@dataclass(frozen=True)
class Sheet:
    """A kind of sheet: its name, its columns, and the key that must be unique in a file.

    ``key(values)`` returns a hashable identity of a valid row (or ``None`` to skip it);
    ``key_columns`` names the columns it is made of, for the report. ``check(values)`` may
    raise :class:`CellError` for rules across columns. Extra columns in a file are refused
    unless ``allow_extra_columns``.
    """

    name: Text
    columns: tuple[Column, ...]
    key: Callable[[Mapping[str, Any]], Hashable | None] | None = None
    key_columns: tuple[str, ...] = ()
    check: Callable[[Mapping[str, Any]], None] | None = None
    name_en: str = ""
    allow_extra_columns: bool = False
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {c.key: c for c in self.columns}
        if not self.columns or len(by_key) != len(self.columns):
            raise ValueError("a sheet needs columns with distinct keys")
        if not set(self.key_columns) <= set(by_key):
            raise ValueError("key_columns must name columns of the sheet")
        object.__setattr__(self, "by_key", by_key)

    @cached_property
    def headers(self) -> dict[str, tuple[Column, bool]]:
        """Map each normalised heading to its column and whether it is the English one."""
        index: dict[str, tuple[Column, bool]] = {}
        for column in self.columns:
            for text, english in ((column.header_zh, False), (column.header_en, True)):
                norm = normalise_header(text)
                other = index.get(norm)
                if other is not None and other[0] is not column:
                    raise ValueError(f"two columns share the heading {text!r}")
                if other is None:
                    index[norm] = (column, english)
        return index

    def title_in(self, language: str) -> str:
        """Return the worksheet title for ``language``."""
        if is_english(language) and self.name_en:
            return self.name_en
        if isinstance(self.name, str):
            return self.name
        with translation.override("en" if is_english(language) else "zh-hans"):
            return str(self.name)

    def header_of(self, column: str, language: str) -> str:
        """Return the heading of a column key in ``language`` (or ``column`` as given)."""
        found = self.by_key.get(column)
        return found.header_in(language) if found else column


def is_english(language: str | None) -> bool:
    """Tell whether ``language`` asks for English headings."""
    return bool(language) and str(language).lower().startswith("en")


def normalise_header(text: str) -> str:
    """Return a heading as matched: NFKC, without whitespace, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def shown(value: object) -> str:
    """Return a cell value as a person would recognise it, cut to :data:`SHOWN_LIMIT`."""
    if value is None:
        text = ""
    elif isinstance(value, ArrayFormula):
        text = value.text or ""
    elif isinstance(value, DataTableFormula):
        text = "="
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        text = (
            str(int(value)) if value.is_integer() and abs(value) < _EXACT_INTEGER else repr(value)
        )
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= SHOWN_LIMIT else text[: SHOWN_LIMIT - 1] + "…"


def is_blank(value: object) -> bool:
    """Tell whether a cell is empty (nothing, or only whitespace)."""
    return value is None or (isinstance(value, str) and not value.strip())


def is_formula(value: object) -> bool:
    """Tell whether a cell (read without ``data_only``) holds a formula."""
    return isinstance(value, ArrayFormula | DataTableFormula) or (
        isinstance(value, str) and value.lstrip().startswith("=")
    )


def convert(column: Column, value: object) -> Any:
    """Return a cell's value for ``column`` or raise :class:`CellError`."""
    if is_formula(value):
        raise CellError(FORMULA, "formula_not_allowed")
    if is_blank(value):
        if column.required:
            raise CellError(REQUIRED, "required")
        return "" if column.kind is Kind.TEXT else None
    if isinstance(value, bool):
        raise CellError(GOT_BOOLEAN, "wrong_cell_type")
    converted = _CONVERTERS[column.kind](column, value)
    if column.parse is None:
        return converted
    try:
        return column.parse(converted)
    except errors.ValidationFailed as exc:
        reason, code = reason_of(exc)
        raise CellError(reason, code) from exc


def reason_of(exc: errors.LinliError) -> tuple[Text, str]:
    """Return the most specific message of a domain error and its code."""
    if exc.message is type(exc).default_message and isinstance(exc.details, Mapping):
        texts = [
            str(m)
            for v in exc.details.values()
            for m in (v if isinstance(v, list | tuple) else [v])
        ]
        if texts:
            return " ".join(texts), exc.code
    return exc.message, exc.code


def _text(column: Column, value: object) -> str:
    if isinstance(value, int | float):
        if column.numbers_as_text and float(value).is_integer() and abs(value) < _EXACT_INTEGER:
            value = str(int(value))
        else:
            raise CellError(TEXT_GOT_NUMBER, "wrong_cell_type")
    elif isinstance(value, dt.date | dt.time | dt.timedelta):
        raise CellError(TEXT_GOT_DATE, "wrong_cell_type")
    elif not isinstance(value, str):
        raise CellError(GOT_OTHER, "wrong_cell_type")
    text = value.strip()
    if column.max_length is not None and len(text) > column.max_length:
        raise CellError(
            TOO_LONG, "too_long", params={"limit": column.max_length, "length": len(text)}
        )
    return text


def _int(column: Column, value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(NOT_AN_INTEGER, "invalid_int")
        return int(value)
    text = _plain_text(value, NUMBER_GOT_DATE)
    if _INT.fullmatch(text) or _GROUPED_INT.fullmatch(text):
        return int(text.replace(",", ""))
    raise CellError(NOT_AN_INTEGER, "invalid_int")


def _decimal(column: Column, value: object) -> Decimal:
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float: what Excel shows.
        return Decimal(repr(value))
    text = _plain_text(value, NUMBER_GOT_DATE)
    if _DECIMAL.fullmatch(text) or _GROUPED_DECIMAL.fullmatch(text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover (the patterns allow only digits)
            pass
    raise CellError(NOT_A_NUMBER, "invalid_decimal")


def _date(column: Column, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise CellError(DATE_WITH_TIME, "invalid_date")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        raise CellError(DATE_GOT_NUMBER, "wrong_cell_type")
    text = _plain_text(value, GOT_OTHER)
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match:
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise CellError(NOT_A_DATE, "invalid_date")


def _plain_text(value: object, wrong_type: Text) -> str:
    """Return the text of a string cell in a number or date column, or refuse the type."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        raise CellError(wrong_type, "wrong_cell_type")
    raise CellError(GOT_OTHER, "wrong_cell_type")


_CONVERTERS: dict[Kind, Callable[[Column, object], Any]] = {
    Kind.TEXT: _text,
    Kind.INT: _int,
    Kind.DECIMAL: _decimal,
    Kind.DATE: _date,
}
