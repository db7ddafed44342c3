"""Importing and exporting rooms from Excel: idempotent, all-or-nothing, tenant-bound."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tabular import FileRejected
from linli.core.tenancy import Actor
from linli.places.imports import export_rooms, import_rooms
from linli.places.models import Building, Room, Unit
from tests.conftest import World

HEADER = ["楼号", "单元号", "房号", "楼层", "面积 (m²)", "用途"]


def xlsx(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


ROWS = [
    ["1", "1", "101", 1, 89.5, "住宅"],
    ["1", "1", "102", 1, 96, "出租"],
    [1, 2, 201, 2, None, ""],  # numbers typed as numbers are taken as their digits
    ["2", "1", "101", 1, 120, "commercial"],
]


def test_import_creates_places_and_reimport_changes_nothing(world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    result = import_rooms(manager, world.a, xlsx(ROWS))
    assert result.ok and result.applied == 4
    assert Building.objects.filter(community=world.a).count() == 2
    assert Unit.objects.filter(community=world.a).count() == 3
    room = Room.objects.get(community=world.a, unit__building__number="1", number="102")
    assert room.use == "rental" and room.area == Decimal("96.00")
    audit_rows = AuditLog.objects.count()
    again = import_rooms(manager, world.a, xlsx(ROWS))
    assert again.applied == 0 and again.unchanged == 4
    assert Room.objects.filter(community=world.a).count() == 4
    assert AuditLog.objects.count() == audit_rows


def test_changed_row_updates_the_room(world: World, system: Actor) -> None:
    import_rooms(system, world.a, xlsx(ROWS))
    changed = [*ROWS[:1], ["1", "1", "102", 1, 96, "空置"]]
    result = import_rooms(system, world.a, xlsx(changed))
    assert result.applied == 1 and result.unchanged == 1
    assert Room.objects.get(unit__building__number="1", number="102").use == "vacant"
    assert AuditLog.objects.filter(action="places.room.update").count() == 1


def test_one_bad_row_imports_nothing_and_names_the_row(world: World, system: Actor) -> None:
    bad = [*ROWS, ["3", "1", "101", 999, 80, "住宅"], ["3", "1", "102", 2, 80, "城堡"]]
    result = import_rooms(system, world.a, xlsx(bad))
    assert not result.ok
    problems = {(e["row"], e["code"]) for e in result.report.as_dicts("zh-hans")}
    assert problems == {(6, "floor_out_of_range"), (7, "unknown_room_use")}
    assert not Room.objects.filter(community=world.a).exists()
    assert not Building.objects.filter(community=world.a).exists()


def test_valid_only_mode_keeps_the_good_rows(world: World, system: Actor) -> None:
    bad = [*ROWS, ["3", "1", "101", 999, 80, "住宅"]]
    result = import_rooms(system, world.a, xlsx(bad), mode="valid_only")
    assert result.applied == 4 and result.invalid == 1
    assert Room.objects.filter(community=world.a).count() == 4


def test_duplicate_rows_in_the_file_are_reported(world: World, system: Actor) -> None:
    result = import_rooms(system, world.a, xlsx([ROWS[0], ROWS[0]]))
    assert [e["code"] for e in result.report.as_dicts("zh-hans")] == ["duplicate_in_file"]


def test_wrong_files_are_refused(world: World, system: Actor) -> None:
    with pytest.raises(FileRejected) as not_xlsx:
        import_rooms(system, world.a, b"building,unit,room\n1,1,101\n")
    assert not_xlsx.value.code == "not_xlsx"
    renamed = ["楼栋", *HEADER[1:]]
    with pytest.raises(FileRejected) as columns:
        import_rooms(system, world.a, xlsx(ROWS, header=renamed))
    assert columns.value.code == "wrong_columns"


def test_import_into_another_tenant_is_refused(world: World) -> None:
    with pytest.raises(errors.NotFound):
        import_rooms(Actor.for_user(world.manager_a), world.b, xlsx(ROWS))
    assert not Room.objects.exists()


def test_guard_may_not_import(world: World) -> None:
    with pytest.raises(errors.PermissionDenied):
        import_rooms(Actor.for_user(world.guard_a), world.a, xlsx(ROWS))


def test_export_reads_back_in_either_language(world: World, system: Actor) -> None:
    import_rooms(system, world.a, xlsx(ROWS))
    for language in ("zh-hans", "en"):
        data = export_rooms(Actor.for_user(world.guard_a), world.a, language=language)
        result = import_rooms(system, world.a, data)
        assert result.ok and result.unchanged == 4 and result.applied == 0


# -- console ----------------------------------------------------------------------------


def upload(client, community_id: int, data: bytes, mode: str = "all_or_nothing"):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("rooms.xlsx", data)
    return client.post(f"/communities/{community_id}/rooms/import/", {"file": file, "mode": mode})


def test_console_import_shows_counts_and_the_report(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    assert client.get(f"/communities/{world.a.pk}/rooms/import/").status_code == 200
    bad = upload(client, world.a.pk, xlsx([*ROWS, ["3", "1", "101", 999, 80, "住宅"]]))
    html = bad.content.decode()
    assert bad.status_code == 422
    assert 'data-row="6"' in html and 'data-code="floor_out_of_range"' in html
    assert "楼层应在 -10 到 200 之间" in html
    assert not Room.objects.exists()
    good = upload(client, world.a.pk, xlsx(ROWS))
    assert good.status_code == 200 and 'data-count="applied">4<' in good.content.decode()


def test_console_import_refuses_a_wrong_file_clearly(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    response = upload(client, world.a.pk, b"\x89PNG\r\n\x1a\nnot a workbook")
    assert response.status_code == 422
    assert 'id="import-file-error"' in response.content.decode()


def test_console_template_and_export_downloads(world: World, system: Actor, login) -> None:  # type: ignore[no-untyped-def]
    import_rooms(system, world.a, xlsx(ROWS))
    client = login(world.manager_a)
    template = client.get(f"/communities/{world.a.pk}/rooms/template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(template.content)).worksheets[0]
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert headers[:3] == ["楼号", "单元号", "房号"]
    export = client.get(f"/communities/{world.a.pk}/rooms/export.xlsx")
    assert export.status_code == 200
    assert import_rooms(system, world.a, export.content).unchanged == 4


def test_console_import_is_tenant_bound(world: World, login) -> None:  # type: ignore[no-untyped-def]
    manager = login(world.manager_a)
    for url in ("rooms/import/", "rooms/template.xlsx", "rooms/export.xlsx"):
        assert manager.get(f"/communities/{world.b.pk}/{url}").status_code == 404
    assert upload(manager, world.b.pk, xlsx(ROWS)).status_code == 404
    guard = login(world.guard_a)
    assert guard.get(f"/communities/{world.a.pk}/rooms/import/").status_code == 403
    assert not Room.objects.exists()


def test_a_batch_refused_at_write_time_does_not_poison_the_rest(
    world: World, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linli.places import actions

    real = actions.do_create_rooms

    def refuse_room_102(actor, unit, specs):  # type: ignore[no-untyped-def]
        if any(spec[0] == "102" for spec in specs):
            raise errors.Conflict(code="duplicate_room")
        return real(actor, unit, specs)

    monkeypatch.setattr(actions, "do_create_rooms", refuse_room_102)
    result = import_rooms(system, world.a, xlsx(ROWS), mode="valid_only")
    assert result.invalid == 1 and result.applied == 3
    numbers = set(Room.objects.filter(community=world.a).values_list("number", flat=True))
    assert numbers == {"101", "201"}
    assert Room.objects.filter(community=world.a).count() == 3
