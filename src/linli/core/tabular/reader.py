"""Open an uploaded workbook safely and stream its rows as parsed values."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeAlias

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from linli.core import errors
from linli.core.tabular.report import RowError
from linli.core.tabular.spec import (
    CellError,
    Column,
    Sheet,
    convert,
    is_blank,
    normalise_header,
    reason_of,
    shown,
)

MB = 1024 * 1024
Source: TypeAlias = str | os.PathLike[str] | bytes | IO[bytes]
"""A path, the file's bytes, or a binary file object (a Django upload)."""

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and .xlsx files saved with a password
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How big an upload may be: bytes, bytes once unzipped, data rows, problems kept."""

    max_bytes: int = 20 * MB
    max_unpacked_bytes: int = 200 * MB
    max_rows: int = 100_000
    max_errors: int = 1000


class FileRejected(errors.ValidationFailed):
    """The file as a whole cannot be imported: not a workbook, too big, wrong columns."""

    code = "file_rejected"


@dataclass
class ParsedRow:
    """One non-blank data row: its Excel row number, values by column key, and problems."""

    number: int
    values: dict[str, Any]
    shown: dict[str, str]
    errors: list[RowError] = field(default_factory=list)


class SheetFile:
    """An uploaded workbook opened for one sheet spec; ``rows()`` may be read many times.

    Entering checks, in this order and before any row is read: size, file signature, the
    ZIP's unpacked size, that openpyxl opens it (read-only, formulas kept as formulas), and
    the header row (the first non-blank row) against the sheet's columns. Every failure is
    a :class:`FileRejected` with its own code.
    """

    def __init__(self, source: Source, sheet: Sheet, limits: Limits | None = None) -> None:
        self.source = source
        self.sheet = sheet
        self.limits = limits or Limits()
        self.english = False
        self._handle: IO[bytes] | None = None
        self._owned = False
        self._workbook: Workbook | None = None
        self._worksheet: ReadOnlyWorksheet | None = None
        self._header_row = 0
        self._positions: list[tuple[int, Column]] = []
        self._absent: list[Column] = []

    def __enter__(self) -> SheetFile:
        try:
            self._open_handle()
            self._check_signature()
            self._open_workbook()
            self._read_header()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the workbook and any file this object opened."""
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None
        if self._handle is not None and self._owned:
            self._handle.close()
        self._handle = None

    def rows(self) -> Iterator[ParsedRow]:
        """Yield each non-blank data row parsed, in file order; refuse too many rows."""
        assert self._worksheet is not None, "use SheetFile as a context manager"  # noqa: S101
        start = self._header_row + 1
        count = 0
        for number, cells in enumerate(self._worksheet.iter_rows(min_row=start), start=start):
            raw = [
                (column, _value(cells[i]) if i < len(cells) else None)
                for i, column in self._positions
            ]
            if all(is_blank(value) for _column, value in raw):
                continue
            count += 1
            if count > self.limits.max_rows:
                raise FileRejected(
                    _("数据超过 %(limit)s 行，请分成几个文件导入。")
                    % {"limit": self.limits.max_rows},
                    code="too_many_rows",
                    details={"limit": self.limits.max_rows},
                )
            yield self._parse(number, raw)

    def _parse(self, number: int, raw: list[tuple[Column, Any]]) -> ParsedRow:
        row = ParsedRow(number, {}, {})
        for column, value in raw:
            text = shown(value)
            row.shown[column.key] = text
            try:
                row.values[column.key] = convert(column, value)
            except CellError as exc:
                row.errors.append(
                    RowError(number, column.key, text, exc.reason, exc.code, exc.params)
                )
        for column in self._absent:
            # An optional column the file leaves out reads as a blank cell.
            row.values[column.key] = convert(column, None)
            row.shown[column.key] = ""
        if not row.errors and self.sheet.check is not None:
            try:
                self.sheet.check(row.values)
            except CellError as exc:
                row.errors.append(
                    RowError(
                        number,
                        exc.column,
                        row.shown.get(exc.column, ""),
                        exc.reason,
                        exc.code,
                        exc.params,
                    )
                )
            except errors.ValidationFailed as exc:
                details = exc.details if isinstance(exc.details, dict) else {}
                key = next((k for k in details if k in row.values), "")
                reason, code = reason_of(exc)
                row.errors.append(RowError(number, key, row.shown.get(key, ""), reason, code))
        return row

    def _open_handle(self) -> None:
        source = self.source
        if isinstance(source, bytes | bytearray | memoryview):
            self._handle = io.BytesIO(bytes(source))
        elif isinstance(source, str | os.PathLike):
            self._handle = Path(source).open("rb")  # noqa: SIM115 (closed by close())
            self._owned = True
        elif source.seekable():
            self._handle = source
        else:
            # A stream that cannot seek is copied (up to the limit) so it can be read twice.
            copy = tempfile.SpooledTemporaryFile(max_size=8 * MB)  # noqa: SIM115
            self._handle, self._owned = copy, True
            shutil.copyfileobj(_limited(source, self.limits.max_bytes + 1), copy)
        handle = self._handle
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        if size == 0:
            raise FileRejected(_("文件是空的。"), code="empty_file")
        if size > self.limits.max_bytes:
            raise FileRejected(
                _("文件太大（%(size)s），上限是 %(limit)s。")
                % {"size": filesizeformat(size), "limit": filesizeformat(self.limits.max_bytes)},
                code="file_too_large",
                details={"size": size, "limit": self.limits.max_bytes},
            )

    def _check_signature(self) -> None:
        assert self._handle is not None  # noqa: S101
        head = self._handle.read(8)
        self._handle.seek(0)
        if head.startswith(_OLE2):
            raise FileRejected(
                _("这是旧版 Excel（.xls）或设了密码的工作簿。请去掉密码，另存为 .xlsx 后再上传。"),
                code="legacy_xls",
            )
        if not head.startswith(_ZIP):
            raise _not_xlsx()
        try:
            with zipfile.ZipFile(self._handle) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise _not_xlsx() from exc
        finally:
            self._handle.seek(0)
        if unpacked > self.limits.max_unpacked_bytes:
            raise FileRejected(
                _("文件解压后太大（%(size)s），上限是 %(limit)s。")
                % {
                    "size": filesizeformat(unpacked),
                    "limit": filesizeformat(self.limits.max_unpacked_bytes),
                },
                code="file_too_large",
                details={"unpacked": unpacked, "limit": self.limits.max_unpacked_bytes},
            )

    def _open_workbook(self) -> None:
        assert self._handle is not None  # noqa: S101
        try:
            self._workbook = load_workbook(
                self._handle, read_only=True, data_only=False, keep_links=False
            )
        except Exception as exc:
            # openpyxl raises many kinds of errors on a ZIP that is not a workbook.
            raise _not_xlsx() from exc
        worksheets = self._workbook.worksheets
        if not worksheets:
            raise _not_xlsx()
        titles = {normalise_header(self.sheet.title_in(lang)) for lang in ("zh-hans", "en")}
        named = [ws for ws in worksheets if normalise_header(ws.title) in titles]
        worksheet = (named or worksheets)[0]
        if not isinstance(worksheet, ReadOnlyWorksheet):  # pragma: no cover
            raise _not_xlsx()
        # The <dimension> tag can be wrong, and openpyxl would stop reading at it.
        worksheet.reset_dimensions()
        self._worksheet = worksheet

    def _read_header(self) -> None:
        assert self._worksheet is not None  # noqa: S101
        cells: tuple[Any, ...] = ()
        rows = self._worksheet.iter_rows()
        try:
            for number, row in enumerate(rows, start=1):
                if any(not is_blank(cell.value) for cell in row):
                    self._header_row, cells = number, row
                    break
            else:
                raise FileRejected(_("工作表是空的，没有列名。"), code="empty_sheet")
        finally:
            rows.close()

        seen: dict[str, Column] = {}
        unknown: list[str] = []
        repeated: list[str] = []
        english = chinese = 0
        for i, cell in enumerate(cells):
            value = cell.value
            if is_blank(value):
                continue
            text = shown(value).strip()
            match = self.sheet.headers.get(normalise_header(text))
            if match is None:
                unknown.append(text)
                continue
            column, is_en = match
            if column.key in seen:
                repeated.append(text)
                continue
            seen[column.key] = column
            self._positions.append((i, column))
            english, chinese = english + is_en, chinese + (not is_en)
        self.english = english > chinese
        self._absent = [c for c in self.sheet.columns if c.key not in seen]
        language = "en" if self.english else "zh-hans"
        missing = [
            c.header_in(language) for c in self.sheet.columns if c.required and c.key not in seen
        ]
        if self.sheet.allow_extra_columns:
            unknown = []
        if missing or unknown or repeated:
            parts = []
            if missing:
                parts.append(_("缺少必填列：%(columns)s。") % {"columns": "、".join(missing)})
            if unknown:
                parts.append(_("无法识别的列：%(columns)s。") % {"columns": "、".join(unknown)})
            if repeated:
                parts.append(_("重复的列：%(columns)s。") % {"columns": "、".join(repeated)})
            raise FileRejected(
                " ".join(parts),
                code="wrong_columns",
                details={
                    "missing": missing,
                    "unknown": unknown,
                    "repeated": repeated,
                    "header_row": self._header_row,
                },
            )


class ExcelError:
    """An error value typed in a cell (``#N/A``, ``#VALUE!``): shown, never imported."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _value(cell: Any) -> Any:
    return ExcelError(str(cell.value)) if cell.data_type == "e" else cell.value


def _not_xlsx() -> FileRejected:
    return FileRejected(
        _("文件不是 Excel 工作簿（.xlsx）。CSV 等文件请先在 Excel 中另存为 .xlsx。"),
        code="not_xlsx",
    )


class _limited(io.RawIOBase):
    """Read at most ``limit`` bytes from a stream (enough to tell that it is too big)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left, _CHUNK))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)
