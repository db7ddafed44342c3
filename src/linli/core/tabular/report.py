"""Problems found in a sheet, one per row and column, and how they are shown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from django.utils import translation
from django.utils.translation import gettext

from linli.core.tabular.spec import Sheet, Text, shown
from linli.core.tabular.writer import write_report

MAX_ERRORS = 1000
"""How many problems a report keeps; the rest are only counted."""


class RowError(Exception):
    """One problem in one row of a sheet: a bad cell, a duplicate, or a refused write.

    ``row`` is the 1-based Excel row number (0 when the raiser does not know it; the
    importer fills it in), ``column`` a column key ("" for the whole row), ``value`` the
    cell as shown (cut short), ``reason`` a Chinese msgid translated when the report is
    shown, with ``params`` for its placeholders, and ``code`` a machine-readable code.
    """

    def __init__(
        self,
        row: int,
        column: str,
        value: object,
        reason: Text,
        code: str,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.row = row
        self.column = column
        self.value = value if isinstance(value, str) else shown(value)
        self.reason = reason
        self.code = code
        self.params = dict(params or {})
        super().__init__(f"row {row} {column}: {code}")

    def reason_in(self, language: str) -> str:
        """Return the reason translated into ``language``, placeholders filled."""
        with translation.override(language):
            text = gettext(self.reason) if isinstance(self.reason, str) else str(self.reason)
        return text % self.params if self.params else text


class Report:
    """Every problem of one file, kept up to ``max_errors`` and counted beyond."""

    def __init__(self, sheet: Sheet, *, max_errors: int = MAX_ERRORS) -> None:
        self.sheet = sheet
        self.max_errors = max_errors
        self.errors: list[RowError] = []
        self.omitted = 0

    def add(self, error: RowError) -> None:
        """Record a problem (or only count it once the report is full)."""
        if len(self.errors) < self.max_errors:
            self.errors.append(error)
        else:
            self.omitted += 1

    @property
    def total(self) -> int:
        """Return how many problems were found, kept or not."""
        return len(self.errors) + self.omitted

    @property
    def ok(self) -> bool:
        """Tell whether the file had no problem at all."""
        return self.total == 0

    def sorted(self) -> list[RowError]:
        """Return the kept problems by row, then in the sheet's column order."""
        order = {c.key: i for i, c in enumerate(self.sheet.columns)}
        return sorted(self.errors, key=lambda e: (e.row, order.get(e.column, -1)))

    def as_dicts(self, language: str | None = None) -> list[dict[str, Any]]:
        """Return the problems for the API: row, column heading and key, value, reason, code."""
        language = language or translation.get_language() or "zh-hans"
        return [
            {
                "row": e.row,
                "column": self.sheet.header_of(e.column, language) if e.column else "",
                "column_key": e.column,
                "value": e.value,
                "reason": e.reason_in(language),
                "code": e.code,
            }
            for e in self.sorted()
        ]

    def write_xlsx(
        self, target: str | Path | IO[bytes] | None = None, *, language: str | None = None
    ) -> bytes | None:
        """Write the report as a workbook with one 错误报告 sheet; return bytes without target."""
        return write_report(self, target, language=language or translation.get_language())
