"""The spreadsheet engine: reading, validating, importing in batches, exporting, templates."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import re
import time
import tracemalloc
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from linli.core import errors
from linli.core.tabular import (
    CellError,
    Column,
    FileRejected,
    ImportAborted,
    ImportResult,
    Kind,
    Limits,
    Outcome,
    Row,
    RowError,
    Sheet,
    check_import,
    run_import,
    template_xlsx,
    write_xlsx,
)

pytestmark = pytest.mark.db_independent

_ID = re.compile(r"\d{17}[\dX]")


def parse_id(text: str) -> str:
    """Accept an 18-character ID number (the real check lives in the people domain)."""
    value = text.upper()
    if not _ID.fullmatch(value):
        raise CellError(_("证件号码应为 18 位。"), "id_number_format")
    return value


def parse_relation(text: str) -> str:
    if text not in {"户主", "配偶", "子女"}:
        raise errors.ValidationFailed(details={"relation": ["关系无效。"]}, code="bad_relation")
    return text


def check_dates(values: Mapping[str, Any]) -> None:
    moved_in = values["moved_in"]
    if moved_in is not None and moved_in > dt.date(2030, 1, 1):
        raise CellError("入住日期太晚。", "too_late", column="moved_in")
    if values["size"] == 99:
        raise errors.ValidationFailed(details={"size": ["人数不合理。"]}, code="size_odd")


RESIDENTS = Sheet(
    name="住户",
    name_en="Residents",
    columns=(
        Column("name", "姓名", "Name", required=True, max_length=20),
        Column("id_number", "证件号码", "ID number", required=True, parse=parse_id),
        Column("phone", "手机", "Phone"),
        Column("building", "楼栋", "Building", required=True, numbers_as_text=True),
        Column("room", "房号", "Room", required=True, numbers_as_text=True),
        Column("size", "人数", "Household size", kind=Kind.INT),
        Column("area", "面积", "Area", kind=Kind.DECIMAL),
        Column("moved_in", "入住日期", "Moved in", kind=Kind.DATE),
        Column("relation", "关系", "Relation", parse=parse_relation),
        Column("note", "备注", "Note", max_length=50, hint="任意说明"),
    ),
    key=lambda v: v["id_number"],
    key_columns=("id_number",),
    check=check_dates,
)
ZH = [c.header_zh for c in RESIDENTS.columns]
EN = [c.header_en for c in RESIDENTS.columns]


def resident(i: int) -> list[Any]:
    """A valid row (Chinese column order), different for each ``i``."""
    return [
        f"住户{i}",
        f"{110101199001010000 + i:018d}",
        f"138{i:08d}",
        str(i % 20 + 1),
        f"{i % 30 + 1}0{i % 4 + 1}",
        i % 5 + 1,
        Decimal("88.50"),
        dt.date(2020, 1, 1) + dt.timedelta(days=i % 1000),
        "户主",
        "",
    ]


def book(rows: Sequence[Sequence[Any]], *, title: str = "Sheet") -> bytes:
    """Build an .xlsx in memory the ordinary way (cell types as given, "=…" a formula)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def streamed(path: Path, rows: Iterator[Sequence[Any]]) -> Path:
    """Write a big .xlsx with openpyxl's write-only mode."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("住户")
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


class FakeTable:
    """A dict standing in for a table, with savepoints like ``transaction.atomic``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls = 0

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        before = dict(self.rows)
        try:
            yield
        except BaseException:
            self.rows = before
            raise

    def insert_all(self, rows: list[Row]) -> None:
        self.calls += 1
        for row in rows:
            if row["id_number"] in self.rows:
                raise row.error("id_number", "已登记。", "duplicate_in_db")
            self.rows[row["id_number"]] = row.values


def import_all(
    source: Any, table: FakeTable, **kwargs: Any
) -> tuple[ImportResult, ImportAborted | None]:
    """Run an all-or-nothing import inside an outer savepoint, as a caller would."""
    try:
        with table.savepoint():
            return (
                run_import(
                    source, RESIDENTS, table.insert_all, savepoint=table.savepoint, **kwargs
                ),
                None,
            )
    except ImportAborted as exc:
        return exc.result, exc


def problems(result: ImportResult) -> list[tuple[int, str, str, str]]:
    return [
        (d["row"], d["column_key"], d["value"], d["code"])
        for d in result.report.as_dicts("zh-hans")
    ]


def rejected(source: Any, limits: Limits | None = None) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        check_import(source, RESIDENTS, limits=limits)
    return caught.value


# Reading and validating -------------------------------------------------------------------


def test_export_then_import_gives_the_same_values() -> None:
    values = [
        dict(zip([c.key for c in RESIDENTS.columns], resident(i), strict=True)) for i in range(5)
    ]
    values[0]["id_number"] = "01010119900101001X"  # a leading zero and an X survive as text
    data = write_xlsx(RESIDENTS, values[:1] + values[2:], language="zh-hans")
    table = FakeTable()

    result = run_import(
        data, RESIDENTS, table.insert_all, mode="valid_only", savepoint=table.savepoint
    )

    assert (result.read, result.valid, result.applied, result.invalid) == (4, 4, 4, 0)
    expected = {v["id_number"]: v for v in values[:1] + values[2:]}
    for v in expected.values():
        v["area"] = Decimal("88.5")
    assert table.rows == expected


def test_exported_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    row = dict(zip([c.key for c in RESIDENTS.columns], resident(1), strict=True))
    row["note"] = "=1+1"
    path = tmp_path / "out.xlsx"
    write_xlsx(RESIDENTS, [row], language="en", target=path)
    cell = openpyxl.load_workbook(path).active["J2"]  # type: ignore[index]
    assert (cell.value, cell.data_type, cell.number_format) == ("=1+1", "s", "@")


def test_export_headers_in_either_language_and_text_columns_as_text() -> None:
    row = dict(zip([c.key for c in RESIDENTS.columns], resident(1), strict=True))
    for language, headers, title in (("zh-hans", ZH, "住户"), ("en", EN, "Residents")):
        wb = openpyxl.load_workbook(io.BytesIO(write_xlsx(RESIDENTS, [row], language=language)))
        ws = wb.active
        assert ws is not None
        assert ws.title == title
        assert [c.value for c in ws[1]] == headers
        assert all(c.font.b for c in ws[1])
        assert ws.freeze_panes == "A2"
        id_cell = ws["B2"]
        assert (id_cell.value, id_cell.data_type) == ("110101199001010001", "s")
        assert id_cell.number_format == "@"
        assert ws["H2"].value == dt.datetime(2020, 1, 2)  # noqa: DTZ001 (Excel has no zones)
        assert ws.column_dimensions["B"].number_format == "@"
        assert 8 <= (ws.column_dimensions["A"].width or 0) <= 50


@pytest.mark.parametrize(
    "headers",
    [ZH, EN, [h.upper() for h in EN], [f"  {h} " for h in EN], [*ZH[:5], *EN[5:]]],
    ids=["chinese", "english", "upper", "padded", "mixed"],
)
def test_headers_match_in_either_language(headers: list[str]) -> None:
    result = check_import(book([headers, resident(1), resident(2)]), RESIDENTS)
    assert (result.read, result.valid, result.report.total) == (2, 2, 0)


def test_header_is_the_first_non_blank_row_and_blank_rows_are_skipped() -> None:
    data = book([[], [None, "  "], ZH, resident(1), [], ["", " ", None], resident(2)])
    table = FakeTable()
    rows: list[Row] = []
    run_import(data, RESIDENTS, rows.extend, mode="valid_only", savepoint=table.savepoint)
    assert [(r.number, r["name"]) for r in rows] == [(4, "住户1"), (7, "住户2")]


def test_cells_are_trimmed_and_optional_columns_may_be_left_out() -> None:
    headers = ["姓名", "证件号码", "楼栋", "房号"]
    data = book([headers, ["  张三 ", " 110101199001010001 ", "3", " 101 "]])
    seen: list[dict[str, Any]] = []
    run_import(
        data,
        RESIDENTS,
        lambda rows: seen.extend(r.values for r in rows),
        mode="valid_only",
        savepoint=contextlib.nullcontext,
    )
    assert seen[0]["name"] == "张三"
    assert seen[0]["room"] == "101"
    assert seen[0]["phone"] == "" and seen[0]["size"] is None and seen[0]["moved_in"] is None


def test_missing_and_renamed_columns_are_refused_before_any_row() -> None:
    headers = [h for h in ZH if h != "房号"]
    headers[0] = "名字"  # renamed
    bad_row = ["=1+1"] * len(headers)
    exc = rejected(book([headers, bad_row]))
    assert exc.code == "wrong_columns"
    assert exc.details["missing"] == ["姓名", "房号"]
    assert exc.details["unknown"] == ["名字"]
    assert "姓名、房号" in str(exc.message) and "名字" in str(exc.message)


def test_missing_columns_are_named_in_the_files_language() -> None:
    exc = rejected(book([["Name", "ID number", "Building"], ["a", "b", "c"]]))
    assert exc.details["missing"] == ["Room"]


def test_a_repeated_column_is_refused() -> None:
    assert rejected(book([[*ZH, "Name"]])).details["repeated"] == ["Name"]


def test_extra_columns_may_be_allowed() -> None:
    lenient = Sheet(name="s", columns=RESIDENTS.columns, allow_extra_columns=True)
    assert check_import(book([[*ZH, "自定义"], [*resident(1), "x"]]), lenient).valid == 1


def test_an_empty_sheet_or_one_without_data_rows_is_refused() -> None:
    assert rejected(book([[], [None]])).code == "empty_sheet"
    assert rejected(book([ZH, [None], []])).code == "no_rows"


def _zip_of(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("姓名,证件号码\n张三,110101199001010001\n".encode(), "not_xlsx"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not_xlsx"),
        (b"", "empty_file"),
        (_zip_of(**{"readme.txt": b"hello"}), "not_xlsx"),
        (_zip_of(**{"[Content_Types].xml": b"<not xml"}), "not_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "legacy_xls"),
        (b"PK\x03\x04 truncated", "not_xlsx"),
    ],
    ids=["csv", "png", "empty", "zip", "broken-xml", "xls", "truncated-zip"],
)
def test_files_that_are_not_xlsx_are_refused(data: bytes, code: str, tmp_path: Path) -> None:
    path = tmp_path / "upload.xlsx"
    path.write_bytes(data)
    assert rejected(path).code == code
    assert rejected(data).code == code


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    data = book([ZH, *(resident(i) for i in range(50))])
    exc = rejected(data, Limits(max_bytes=len(data) - 1))
    assert exc.code == "file_too_large"
    assert exc.details == {"size": len(data), "limit": len(data) - 1}
    assert check_import(data, RESIDENTS, limits=Limits(max_bytes=len(data))).valid == 50


def test_a_zip_that_unpacks_too_big_is_refused() -> None:
    bomb = _zip_of(**{"xl/sharedStrings.xml": b" " * 5_000_000})
    exc = rejected(bomb, Limits(max_unpacked_bytes=1_000_000))
    assert exc.code == "file_too_large"
    assert exc.details["unpacked"] == 5_000_000


def test_a_stream_that_cannot_seek_is_read_within_the_limit() -> None:
    data = book([ZH, resident(1)])

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.inner.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert check_import(Pipe(), RESIDENTS).valid == 1
    assert rejected(Pipe(), Limits(max_bytes=1000)).code == "file_too_large"


def test_too_many_rows_are_refused() -> None:
    data = book([ZH, *(resident(i) for i in range(6))])
    exc = rejected(data, Limits(max_rows=5))
    assert (exc.code, exc.details) == ("too_many_rows", {"limit": 5})
    assert check_import(data, RESIDENTS, limits=Limits(max_rows=6)).read == 6


def test_formulas_are_refused_in_every_column_and_never_evaluated() -> None:
    row = resident(1)
    row[0] = '=CONCATENATE("a","b")'
    row[5] = "=1+1"
    row[7] = "=TODAY()"
    row[9] = "=cmd|'/c calc'!A0"
    result = check_import(book([ZH, row]), RESIDENTS)
    assert problems(result) == [
        (2, "name", '=CONCATENATE("a","b")', "formula_not_allowed"),
        (2, "size", "=1+1", "formula_not_allowed"),
        (2, "moved_in", "=TODAY()", "formula_not_allowed"),
        (2, "note", "=cmd|'/c calc'!A0", "formula_not_allowed"),
    ]
    assert result.valid == 0


def test_dates_and_numbers_in_text_columns_are_refused_not_converted() -> None:
    as_float = resident(1)
    as_float[1] = 1.10101199001010e17  # what Excel makes of an ID number typed as a number
    as_date = resident(2)
    as_date[2] = dt.datetime(2024, 3, 1)  # noqa: DTZ001
    as_bool = resident(3)
    as_bool[9] = True
    result = check_import(book([ZH, as_float, as_date, as_bool]), RESIDENTS)
    assert problems(result) == [
        (2, "id_number", "1.1010119900101e+17", "wrong_cell_type"),
        (3, "phone", "2024-03-01", "wrong_cell_type"),
        (4, "note", "TRUE", "wrong_cell_type"),
    ]
    reason = result.report.as_dicts("zh-hans")[0]["reason"]
    assert "文本" in reason and "科学计数法" in reason


def test_error_values_typed_in_cells_are_refused() -> None:
    data = book([ZH, resident(1)])
    xml_name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    # Make A2 an error cell the way Excel stores one: t="e" with the error text.
    members[xml_name] = re.sub(
        rb'<c r="A2"[^>]*>.*?</c>', b'<c r="A2" t="e"><v>#N/A</v></c>', members[xml_name]
    )
    assert problems(check_import(_zip_of(**members), RESIDENTS)) == [
        (2, "name", "#N/A", "wrong_cell_type")
    ]


def test_whole_numbers_may_be_text_where_the_column_allows_it() -> None:
    row = resident(1)
    row[3], row[4] = 12, 301.0
    seen: list[Row] = []
    run_import(
        book([ZH, row]),
        RESIDENTS,
        seen.extend,
        mode="valid_only",
        savepoint=contextlib.nullcontext,
    )
    assert (seen[0]["building"], seen[0]["room"]) == ("12", "301")
    row[4] = 301.5
    assert problems(check_import(book([ZH, row]), RESIDENTS)) == [
        (2, "room", "301.5", "wrong_cell_type")
    ]


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        (5, 3, 3),
        (5, 3.0, 3),
        (5, " 12 ", 12),
        (5, "1,200", 1200),
        (6, 88.5, Decimal("88.5")),
        (6, 0.1, Decimal("0.1")),
        (6, "1,234.50", Decimal("1234.50")),
        (6, 7, Decimal(7)),
        (7, dt.datetime(2024, 2, 29), dt.date(2024, 2, 29)),  # noqa: DTZ001
        (7, "2024-02-29", dt.date(2024, 2, 29)),
        (7, "2024/2/9", dt.date(2024, 2, 9)),
        (7, "2024年2月9日", dt.date(2024, 2, 9)),
        (7, "20240209", dt.date(2024, 2, 9)),
    ],
)
def test_numbers_and_dates_are_read_from_typed_cells_or_text(
    column: int, cell: Any, expected: Any
) -> None:
    row = resident(1)
    row[column] = cell
    seen: list[Row] = []
    run_import(
        book([ZH, row]), RESIDENTS, seen.extend, mode="valid_only", savepoint=contextlib.nullcontext
    )
    assert seen[0][RESIDENTS.columns[column].key] == expected


@pytest.mark.parametrize(
    ("column", "cell", "code"),
    [
        (5, 2.5, "invalid_int"),
        (5, "两", "invalid_int"),
        (5, dt.datetime(2024, 1, 1), "wrong_cell_type"),  # noqa: DTZ001
        (6, "NaN", "invalid_decimal"),
        (6, "1e5", "invalid_decimal"),
        (7, 45000, "wrong_cell_type"),
        (7, "2024-02-30", "invalid_date"),
        (7, "next week", "invalid_date"),
        (7, dt.datetime(2024, 1, 1, 9, 30), "invalid_date"),  # noqa: DTZ001
        (0, "", "required"),
        (0, "字" * 21, "too_long"),
        (1, "12345", "id_number_format"),
        (8, "邻居", "bad_relation"),
        (7, dt.datetime(2031, 1, 1), "too_late"),  # noqa: DTZ001
        (5, 99, "size_odd"),
    ],
)
def test_bad_cells_are_reported_with_their_code(column: int, cell: Any, code: str) -> None:
    row = resident(1)
    row[column] = cell
    result = check_import(book([ZH, row]), RESIDENTS)
    assert [(e.row, e.column, e.code) for e in result.report.errors] == [
        (2, RESIDENTS.columns[column].key, code)
    ]


def test_reasons_carry_their_parameters_and_domain_messages() -> None:
    row = resident(1)
    row[0], row[8] = "字" * 21, "邻居"
    reasons = [d["reason"] for d in check_import(book([ZH, row]), RESIDENTS).report.as_dicts()]
    assert reasons == ["最多 20 个字，这里有 21 个字。", "关系无效。"]


def test_duplicate_keys_in_the_file_name_the_first_row() -> None:
    result = check_import(book([ZH, resident(1), resident(2), resident(1), resident(1)]), RESIDENTS)
    key = resident(1)[1]
    assert problems(result) == [
        (4, "id_number", key, "duplicate_in_file"),
        (5, "id_number", key, "duplicate_in_file"),
    ]
    assert result.report.as_dicts()[0]["reason"] == "与第 2 行重复。"
    assert (result.valid, result.invalid) == (2, 2)


def test_the_report_keeps_a_limited_number_of_problems() -> None:
    rows = [ZH] + [[*resident(i)[:5], "x", *resident(i)[6:]] for i in range(30)]
    result = check_import(book(rows), RESIDENTS, limits=Limits(max_errors=10))
    assert (len(result.report.errors), result.report.omitted, result.report.total) == (10, 20, 30)
    assert result.invalid == 30


def test_the_report_speaks_the_requested_language() -> None:
    row = resident(1)
    row[5] = "x"
    result = check_import(book([ZH, row]), RESIDENTS)
    (english,) = result.report.as_dicts("en")
    assert english["column"] == "Household size"
    (chinese,) = result.report.as_dicts("zh-hans")
    assert chinese == {
        "row": 2,
        "column": "人数",
        "column_key": "size",
        "value": "x",
        "reason": "应为整数。",
        "code": "invalid_int",
    }


def test_the_report_downloads_as_a_readable_workbook(tmp_path: Path) -> None:
    row = resident(1)
    row[0], row[5] = "=1+1", "x"
    result = check_import(book([ZH, row]), RESIDENTS, limits=Limits(max_errors=1))
    path = tmp_path / "report.xlsx"
    result.report.write_xlsx(path, language="zh-hans")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["错误报告"]
    cells = list(wb["错误报告"].iter_rows(values_only=True))
    assert cells[0] == ("行号", "列", "内容", "问题", "代码")
    assert cells[1][:3] == (2, "姓名", "=1+1")
    assert cells[1][4] == "formula_not_allowed"
    assert cells[2][3] == "另有 1 个问题未列出。"
    assert isinstance(result.report.write_xlsx(language="en"), bytes)


# Importing --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 valid rows of ten columns, except row 5,001 whose 人数 is "三"."""

    def rows() -> Iterator[Sequence[Any]]:
        yield ZH
        for i in range(10_000):
            row = resident(i)
            if i == 4999:
                row[5] = "三"
            yield row

    return streamed(tmp_path_factory.mktemp("big") / "residents.xlsx", rows())


def test_all_or_nothing_applies_nothing_when_one_row_is_bad(ten_thousand: Path) -> None:
    table = FakeTable()
    result, aborted = import_all(ten_thousand, table)
    assert aborted is None
    assert table.calls == 0 and table.rows == {}
    assert (result.read, result.valid, result.invalid, result.applied) == (10_000, 9_999, 1, 0)
    assert problems(result) == [(5001, "size", "三", "invalid_int")]
    assert result.report.as_dicts()[0]["column"] == "人数"


def test_valid_only_applies_every_other_row(ten_thousand: Path) -> None:
    table = FakeTable()
    seen: list[tuple[int, int]] = []
    result = run_import(
        ten_thousand,
        RESIDENTS,
        table.insert_all,
        mode="valid_only",
        savepoint=table.savepoint,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (result.applied, result.invalid, len(table.rows)) == (9_999, 1, 9_999)
    assert table.calls == 20
    assert seen[0] == (0, 9_999) and seen[-1] == (9_999, 9_999)
    assert all(b[0] > a[0] for a, b in itertools.pairwise(seen))
    assert {total for _, total in seen} == {9_999}


def test_write_time_error_aborts_all_or_nothing_and_rolls_back() -> None:
    table = FakeTable()
    table.rows[resident(7)[1]] = {}  # already in the "database"
    data = book([ZH, *(resident(i) for i in range(10))])
    result, aborted = import_all(data, table, batch_size=3)
    assert aborted is not None and aborted.code == "import_aborted"
    assert aborted.details == {"row": 9, "column": "id_number", "code": "duplicate_in_db"}
    assert "第 9 行" in str(aborted.message)
    assert result.aborted and result.applied == 0
    assert problems(result) == [(9, "id_number", resident(7)[1], "duplicate_in_db")]
    assert table.rows == {resident(7)[1]: {}}  # the outer savepoint undid batches 1 and 2


def test_write_time_errors_in_valid_only_skip_just_those_rows() -> None:
    table = FakeTable()
    for i in (1, 2, 7):
        table.rows[resident(i)[1]] = {}
    data = book([ZH, *(resident(i) for i in range(10))])
    result = run_import(
        data,
        RESIDENTS,
        table.insert_all,
        mode="valid_only",
        batch_size=4,
        savepoint=table.savepoint,
    )
    assert [e.row for e in result.report.sorted()] == [3, 4, 9]
    assert (result.applied, result.invalid, result.valid) == (7, 3, 10)
    assert len(table.rows) == 10  # the three old ones and seven new, none twice


def test_domain_errors_raised_by_apply_batch_become_row_errors() -> None:
    table = FakeTable()

    def apply(rows: list[Row]) -> None:
        for row in rows:
            if row["size"] == 3:
                raise errors.Conflict(
                    "该证件号码已登记。", code="duplicate_id_number", details={"id_number": ["x"]}
                )
            table.rows[row["id_number"]] = row.values

    data = book([ZH, *(resident(i) for i in range(6))])  # sizes 1..5, 1
    result = run_import(
        data, RESIDENTS, apply, mode="valid_only", batch_size=10, savepoint=table.savepoint
    )
    (problem,) = result.report.as_dicts()
    assert problem == {
        "row": 4,
        "column": "证件号码",
        "column_key": "id_number",
        "value": resident(2)[1],
        "reason": "该证件号码已登记。",
        "code": "duplicate_id_number",
    }
    assert len(table.rows) == 5

    table = FakeTable()
    with pytest.raises(ImportAborted) as caught, table.savepoint():
        run_import(data, RESIDENTS, apply, batch_size=10, savepoint=table.savepoint)
    assert (caught.value.error.row, caught.value.error.code) == (4, "duplicate_id_number")
    assert table.rows == {}


def test_other_exceptions_from_apply_batch_propagate() -> None:
    def apply(rows: list[Row]) -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_import(
            book([ZH, resident(1)]),
            RESIDENTS,
            apply,
            mode="valid_only",
            savepoint=contextlib.nullcontext,
        )


def test_apply_batch_may_report_unchanged_rows_and_refuse_some() -> None:
    def apply(rows: list[Row]) -> list[Outcome | RowError]:
        out: list[Outcome | RowError] = []
        for row in rows:
            if row["size"] == 2:
                out.append(Outcome.UNCHANGED)
            elif row["size"] == 4:
                out.append(row.error("room", "房屋不存在。", "room_not_found"))
            else:
                out.append(Outcome.APPLIED)
        return out

    data = book([ZH, *(resident(i) for i in range(5))])
    result = run_import(data, RESIDENTS, apply, mode="valid_only", savepoint=contextlib.nullcontext)
    assert (result.applied, result.unchanged, result.invalid) == (3, 1, 1)
    assert problems(result) == [(5, "room", resident(3)[4], "room_not_found")]
    assert not result.ok

    with pytest.raises(ImportAborted):
        run_import(data, RESIDENTS, apply, savepoint=contextlib.nullcontext)


def test_apply_batch_must_return_one_outcome_per_row() -> None:
    with pytest.raises(ValueError, match="one outcome per row"):
        run_import(
            book([ZH, resident(1), resident(2)]),
            RESIDENTS,
            lambda rows: [Outcome.APPLIED],
            mode="valid_only",
            savepoint=contextlib.nullcontext,
        )


def test_all_or_nothing_needs_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
        run_import(book([ZH, resident(1)]), RESIDENTS, lambda rows: None)


def test_progress_is_monotonic_and_reaches_the_total() -> None:
    seen: list[tuple[int, int]] = []
    data = book([ZH, *(resident(i) for i in range(23))])
    run_import(
        data,
        RESIDENTS,
        lambda rows: None,
        mode="valid_only",
        batch_size=5,
        savepoint=contextlib.nullcontext,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 23), (5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]


def test_a_sheet_named_like_the_spec_is_preferred() -> None:
    wb = Workbook()
    other = wb.active
    assert other is not None
    other.append(["whatever"])
    ws = wb.create_sheet("Residents")
    ws.append(ZH)
    ws.append(resident(1))
    out = io.BytesIO()
    wb.save(out)
    assert check_import(out.getvalue(), RESIDENTS).valid == 1


def test_export_uses_to_cell_and_skips_blanks() -> None:
    sheet = Sheet(
        name="s",
        columns=(
            Column("sex", "性别", "Sex", to_cell=lambda v: {"M": "男", "F": "女"}[v]),
            Column("n", "数量", "Count", kind=Kind.INT),
        ),
    )
    wb = openpyxl.load_workbook(io.BytesIO(write_xlsx(sheet, [{"sex": "F"}, {"sex": "M", "n": 2}])))
    assert list(wb.worksheets[0].iter_rows(values_only=True)) == [
        ("性别", "数量"),
        ("女", None),
        ("男", 2),
    ]


# Templates --------------------------------------------------------------------------------


def test_template_has_headings_formats_and_instructions() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx(RESIDENTS, "zh-hans")))
    assert wb.sheetnames == ["住户", "说明"]
    data = wb["住户"]
    assert [c.value for c in data[1]] == ZH
    assert data.max_row == 1
    assert data.column_dimensions["B"].number_format == "@"  # ID numbers typed later stay text
    assert data.column_dimensions["H"].number_format == "yyyy-mm-dd"
    notes = list(wb["说明"].iter_rows(values_only=True))
    assert notes[0] == ("列名", "必填", "格式", "说明")
    assert notes[1][:3] == ("姓名", "是", "文本，最多 20 个字")
    assert notes[6][:3] == ("人数", "否", "整数")
    assert notes[10] == ("备注", "否", "文本，最多 50 个字", "任意说明")
    assert any("住户" in (r[0] or "") for r in notes[11:])


def test_filled_in_template_imports() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx(RESIDENTS, "en")))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == EN
    ws.append(resident(1))
    out = io.BytesIO()
    wb.save(out)
    assert check_import(out.getvalue(), RESIDENTS).valid == 1


def test_sheets_refuse_ambiguous_specs() -> None:
    with pytest.raises(ValueError, match="distinct keys"):
        Sheet(name="s", columns=(Column("a", "甲", "A"), Column("a", "乙", "B")))
    with pytest.raises(ValueError, match="key_columns"):
        Sheet(name="s", columns=(Column("a", "甲", "A"),), key_columns=("b",))
    clash = Sheet(name="s", columns=(Column("a", "甲", "A"), Column("b", "乙", " a ")))
    with pytest.raises(ValueError, match="share the heading"):
        check_import(book([["甲"], ["x"]]), clash)


# Measurement ------------------------------------------------------------------------------


def test_measure_reading_and_validating_ten_thousand_rows(
    ten_thousand: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Print (not assert) time and peak traced memory of the first pass over 10,000 rows."""
    started = time.perf_counter()
    check_import(ten_thousand, RESIDENTS)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    run_import(
        ten_thousand,
        RESIDENTS,
        lambda rows: None,
        mode="valid_only",
        savepoint=contextlib.nullcontext,
    )
    both_passes = time.perf_counter() - started
    tracemalloc.start()
    try:
        result = check_import(ten_thousand, RESIDENTS)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with capsys.disabled():
        print(
            f"\ntabular: read+validate {result.read} rows x {len(RESIDENTS.columns)} columns "
            f"({ten_thousand.stat().st_size / 1024:.0f} KiB): {elapsed:.2f} s, "
            f"peak traced memory {peak / 1024 / 1024:.1f} MiB; "
            f"run_import with both passes {both_passes:.2f} s"
        )
    assert result.read == 10_000
