"""Spreadsheet import and export (.xlsx) for any domain: 表格导入导出.

A domain describes its sheet once and gets an importer, an exporter and a template::

    ROOMS = Sheet(
        name=_("房屋"),
        name_en="Rooms",
        columns=(
            Column("building", _("楼栋"), "Building", required=True, max_length=20),
            Column("number", _("房号"), "Room", required=True, numbers_as_text=True),
            Column("area", _("面积"), "Area", kind=Kind.DECIMAL),
        ),
        key=lambda v: (v["building"], v["number"]),
        key_columns=("building", "number"),
    )

Reading is streamed (openpyxl read-only, formulas never evaluated) and done twice: the
first pass validates every row and collects a :class:`Report`; the second hands valid
rows to the caller's ``apply_batch`` (see :func:`run_import`). Nothing here touches a
model: the caller writes through its own actions.
"""

from linli.core.tabular.importer import (
    ApplyBatch,
    ImportAborted,
    ImportResult,
    Mode,
    Outcome,
    Row,
    check_import,
    run_import,
)
from linli.core.tabular.reader import MB, FileRejected, Limits, SheetFile, Source
from linli.core.tabular.report import Report, RowError
from linli.core.tabular.spec import CellError, Column, Kind, Sheet
from linli.core.tabular.writer import template_xlsx, write_xlsx

__all__ = [
    "MB",
    "ApplyBatch",
    "CellError",
    "Column",
    "FileRejected",
    "ImportAborted",
    "ImportResult",
    "Kind",
    "Limits",
    "Mode",
    "Outcome",
    "Report",
    "Row",
    "RowError",
    "Sheet",
    "SheetFile",
    "Source",
    "check_import",
    "run_import",
    "template_xlsx",
    "write_xlsx",
]
