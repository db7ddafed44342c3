"""Import a sheet: validate the whole file first, then hand valid rows to the caller in batches."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import errors
from linli.core.tabular.reader import FileRejected, Limits, SheetFile, Source
from linli.core.tabular.report import Report, RowError
from linli.core.tabular.spec import Sheet, Text, reason_of

Mode: TypeAlias = Literal["all_or_nothing", "valid_only"]
MODES: tuple[Mode, ...] = ("all_or_nothing", "valid_only")
DUPLICATE = gettext_lazy("与第 %(row)s 行重复。")

# Domain errors that concern one row; anything else raised by apply_batch stops the import.
ROW_LEVEL: tuple[type[Exception], ...] = (
    RowError,
    errors.ValidationFailed,
    errors.Conflict,
    errors.NotFound,
)


class Outcome(StrEnum):
    """What ``apply_batch`` did with one row."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Row:
    """A valid row handed to ``apply_batch``: Excel row number, values and cells as shown."""

    number: int
    values: dict[str, Any]
    shown: dict[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def error(self, column: str, reason: Text, code: str, **params: object) -> RowError:
        """Return a :class:`RowError` for this row and column (to return or raise)."""
        return RowError(self.number, column, self.shown.get(column, ""), reason, code, params)


ApplyBatch: TypeAlias = Callable[[list[Row]], Sequence[Outcome | RowError] | None]
Progress: TypeAlias = Callable[[int, int], None]
Savepoint: TypeAlias = Callable[[], AbstractContextManager[Any]]


@dataclass
class ImportResult:
    """Counts of one import and its report.

    ``read`` non-blank data rows; ``valid`` rows that passed the first pass; ``invalid``
    rows with a problem (first pass or refused at write time); ``applied`` and
    ``unchanged`` as ``apply_batch`` reported them. ``aborted`` means all-or-nothing
    stopped at a write-time problem and nothing was kept.
    """

    report: Report
    mode: Mode
    read: int = 0
    valid: int = 0
    invalid: int = 0
    applied: int = 0
    unchanged: int = 0
    aborted: bool = False

    @property
    def ok(self) -> bool:
        """Tell whether every row was imported without a problem."""
        return self.report.ok and not self.aborted


class ImportAborted(errors.ValidationFailed):
    """All-or-nothing import stopped at a row refused at write time; roll everything back.

    Raised out of :func:`run_import` so that the caller's ``transaction.atomic()`` block
    rolls back; ``result`` holds the report naming the row.
    """

    code = "import_aborted"

    def __init__(self, result: ImportResult, error: RowError) -> None:
        self.result = result
        self.error = error
        super().__init__(
            _("第 %(row)s 行无法导入，已撤销本次导入的全部数据。") % {"row": error.row},
            details={"row": error.row, "column": error.column, "code": error.code},
        )


def check_import(source: Source, sheet: Sheet, *, limits: Limits | None = None) -> ImportResult:
    """Validate a file without importing anything (a dry run); return counts and report."""
    limits = limits or Limits()
    with SheetFile(source, sheet, limits) as file:
        result = ImportResult(Report(sheet, max_errors=limits.max_errors), "valid_only")
        _scan(file, result)
    return result


def run_import(
    source: Source,
    sheet: Sheet,
    apply_batch: ApplyBatch,
    *,
    mode: Mode = "all_or_nothing",
    batch_size: int = 500,
    progress: Progress | None = None,
    limits: Limits | None = None,
    savepoint: Savepoint = transaction.atomic,
) -> ImportResult:
    """Validate the whole file, then pass its valid rows to ``apply_batch`` in batches.

    File-level problems raise :class:`~linli.core.tabular.reader.FileRejected` before any
    row is read. The first pass parses every row and collects every problem (cells, the
    sheet's ``check``, duplicate keys within the file). In ``all_or_nothing`` mode any
    problem means ``apply_batch`` is never called and the result carries the report.
    Otherwise a second pass re-reads the file and calls ``apply_batch(rows)`` with up to
    ``batch_size`` valid rows at a time, each call inside ``savepoint()``.

    ``apply_batch`` writes through the domain's actions and returns ``None`` (all applied)
    or one :class:`Outcome` or :class:`RowError` per row (a returned error means that row
    was not written). It may instead raise a :class:`RowError` or a row-level domain error
    (``ValidationFailed``, ``Conflict``, ``NotFound``): the batch's savepoint rolls back
    and the rows are replayed one at a time to find the culprits. In ``all_or_nothing``
    mode the first such row raises :class:`ImportAborted`; in ``valid_only`` mode failed
    rows are reported and the others kept. Any other exception propagates.

    All-or-nothing needs the caller to wrap the whole call in ``transaction.atomic()`` so
    that an :class:`ImportAborted` rolls back the batches already written::

        try:
            with transaction.atomic():
                result = run_import(upload, ROOMS, apply_rooms)
        except ImportAborted as exc:
            result = exc.result

    ``progress(done, total)`` is called with rows processed out of the valid rows (known
    after the first pass): once with 0, then after each batch. ``savepoint`` defaults to
    ``transaction.atomic``: a savepoint inside the caller's transaction (outside one, in
    ``valid_only`` mode, each batch commits on its own). Pass another context-manager
    factory for another database; without real savepoints, ``apply_batch`` must itself
    leave nothing written when it raises, or the replay would write rows twice.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if (
        mode == "all_or_nothing"
        and savepoint is transaction.atomic
        and not transaction.get_connection().in_atomic_block
    ):
        raise RuntimeError("run_import(mode='all_or_nothing') must run inside transaction.atomic()")
    limits = limits or Limits()
    with SheetFile(source, sheet, limits) as file:
        result = ImportResult(Report(sheet, max_errors=limits.max_errors), mode)
        invalid = _scan(file, result)
        if mode == "all_or_nothing" and not result.report.ok:
            return result
        _Applier(result, apply_batch, savepoint, progress).run(file, invalid, batch_size)
    return result


def _scan(file: SheetFile, result: ImportResult) -> set[int]:
    """Read every row once, record its problems; return the numbers of invalid rows."""
    sheet, report = file.sheet, result.report
    first_of: dict[Hashable, int] = {}
    invalid: set[int] = set()
    for row in file.rows():
        result.read += 1
        if not row.errors and sheet.key is not None:
            key = sheet.key(row.values)
            if key is not None:
                first = first_of.setdefault(key, row.number)
                if first != row.number:
                    column = sheet.key_columns[0] if len(sheet.key_columns) == 1 else ""
                    value = " / ".join(row.shown.get(k, "") for k in sheet.key_columns)
                    row.errors.append(
                        RowError(
                            row.number,
                            column,
                            value or str(key),
                            DUPLICATE,
                            "duplicate_in_file",
                            {"row": first},
                        )
                    )
        if row.errors:
            invalid.add(row.number)
            for error in row.errors:
                report.add(error)
    if result.read == 0:
        raise FileRejected(_("文件里只有列名，没有数据行。"), code="no_rows")
    result.invalid = len(invalid)
    result.valid = result.read - result.invalid
    return invalid


class _Applier:
    """The second pass: batches of valid rows to ``apply_batch``, with replay on failure."""

    def __init__(
        self,
        result: ImportResult,
        apply_batch: ApplyBatch,
        savepoint: Savepoint,
        progress: Progress | None,
    ) -> None:
        self.result = result
        self.apply_batch = apply_batch
        self.savepoint = savepoint
        self.progress = progress or (lambda done, total: None)
        self.done = 0

    def run(self, file: SheetFile, invalid: set[int], batch_size: int) -> None:
        self.progress(0, self.result.valid)
        batch: list[Row] = []
        for parsed in file.rows():
            if parsed.number in invalid:
                continue
            if parsed.errors:
                raise RuntimeError(
                    f"row {parsed.number} read differently the second time; "
                    "parse functions must be deterministic"
                )
            batch.append(Row(parsed.number, parsed.values, parsed.shown))
            if len(batch) >= batch_size:
                self._flush(batch)
                batch = []
        if batch:
            self._flush(batch)

    def _flush(self, batch: list[Row]) -> None:
        try:
            with self.savepoint():
                outcomes = self.apply_batch(batch)
        except ROW_LEVEL as exc:
            self._replay(batch, exc)
        else:
            self._record(batch, outcomes)
        self.done += len(batch)
        self.progress(self.done, self.result.valid)

    def _replay(self, batch: list[Row], exc: Exception) -> None:
        """Find the failing rows of a rolled-back batch by applying its rows one by one."""
        by_number = {row.number: row for row in batch}
        named = by_number.get(exc.row) if isinstance(exc, RowError) else None
        if len(batch) == 1 or (named is not None and self.result.mode == "all_or_nothing"):
            self._fail(named or batch[0], exc)
            return
        for row in batch:
            if row is named:
                self._fail(row, exc)
                continue
            try:
                with self.savepoint():
                    outcomes = self.apply_batch([row])
            except ROW_LEVEL as row_exc:
                self._fail(row, row_exc)
            else:
                self._record([row], outcomes)

    def _record(self, batch: list[Row], outcomes: Sequence[Outcome | RowError] | None) -> None:
        if outcomes is None:
            self.result.applied += len(batch)
            return
        if len(outcomes) != len(batch):
            raise ValueError("apply_batch must return one outcome per row, or None")
        for row, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, RowError):
                self._fail(row, outcome)
            elif outcome == Outcome.UNCHANGED:
                self.result.unchanged += 1
            else:
                self.result.applied += 1

    def _fail(self, row: Row, exc: Exception) -> None:
        error = _row_error(row, exc)
        result = self.result
        result.report.add(error)
        result.invalid += 1
        if result.mode == "all_or_nothing":
            result.aborted = True
            result.applied = result.unchanged = 0
            raise ImportAborted(result, error) from exc


def _row_error(row: Row, exc: Exception) -> RowError:
    """Return a :class:`RowError` for ``row`` from what ``apply_batch`` raised or returned."""
    if isinstance(exc, RowError):
        exc.row = row.number
        if not exc.value and exc.column:
            exc.value = row.shown.get(exc.column, "")
        return exc
    assert isinstance(exc, errors.LinliError)  # noqa: S101 (ROW_LEVEL are LinliErrors)
    details = exc.details if isinstance(exc.details, dict) else {}
    column = next((k for k in details if k in row.values), "")
    reason, code = reason_of(exc)
    return RowError(row.number, column, row.shown.get(column, ""), reason, code)
