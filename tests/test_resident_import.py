"""Importing and exporting residents from Excel: idempotent, all-or-nothing, masked, audited."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from linli.core import errors, jobs, worker
from linli.core.actions import do_withdraw_grant
from linli.core.models import AuditLog, Grant, ImportJob, Task
from linli.core.tabular import FileRejected
from linli.core.tenancy import Actor
from linli.people.choices import ChangeKind, ChangeSource, Kinship, Relation
from linli.people.imports import export_residents, import_residents
from linli.people.models import Household, Membership, Person, PopulationChange, Residency
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Community
from tests.conftest import World

HEADER = [
    "姓名", "证件类型", "证件号码", "性别", "民族", "国籍", "手机号码",
    "楼号", "单元号", "房号", "居住关系", "与户主关系", "户籍类别", "入住日期",
]  # fmt: skip


def resident_id(serial: int, born: dt.date = dt.date(1980, 1, 1), region: str = "110105") -> str:
    """Return a valid 18-digit resident ID number (serial 0-999 per birth date)."""
    return with_check(f"{region}{born:%Y%m%d}{serial % 1000:03d}")


def with_check(body: str) -> str:
    """Return 17 digits with their GB 11643 check character."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def many_ids(n: int) -> list[str]:
    """Return ``n`` distinct valid ID numbers."""
    return [
        resident_id(i % 1000, dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)) for i in range(n)
    ]


def xlsx(
    rows: Iterable[Sequence[object]], header: Sequence[str] = HEADER, *, fast: bool = False
) -> bytes:
    """Return a workbook of ``rows`` (``fast``: written in openpyxl's write-only mode)."""
    wb = openpyxl.Workbook(write_only=fast)
    ws = wb.create_sheet("住户", 0)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_rooms(system: Actor, community: Community, buildings: int = 1, per_unit: int = 4) -> None:
    """Give a community buildings "1".."n", units "1" and "2", rooms 101, 102, …"""
    for b in range(1, buildings + 1):
        building = do_create_building(system, community, number=str(b), floors_above=30)
        for u in ("1", "2"):
            unit = do_create_unit(system, building, number=u)
            specs = [
                (str(100 * (1 + i // 2) + 1 + i % 2), 1 + i // 2, None, "residential")
                for i in range(per_unit)
            ]
            do_create_rooms(system, unit, specs)


def row(name: str, number: str, room: str = "101", **kw: object) -> list[object]:
    values = {
        "id_type": "", "sex": "", "ethnicity": "汉族", "nationality": "", "phone": "",
        "building": "1", "unit": "1", "relation": "业主", "kinship": "", "category": "",
        "date_from": dt.date(2020, 5, 1),
    } | kw  # fmt: skip
    return [
        name, values["id_type"], number, values["sex"], values["ethnicity"],
        values["nationality"], values["phone"], values["building"], values["unit"], room,
        values["relation"], values["kinship"], values["category"], values["date_from"],
    ]  # fmt: skip


OWNER = resident_id(1, dt.date(1970, 3, 4))
SPOUSE = resident_id(2, dt.date(1972, 6, 7))
TENANT = resident_id(3, dt.date(1990, 8, 9))
ROWS = [
    row("张伟", OWNER, "101", phone="13900000001", kinship="户主"),
    row("李娜", SPOUSE, "101", relation="家庭成员", kinship="配偶", sex="女"),
    row("赵磊", TENANT, "102", relation="租户", category="流动", ethnicity="03"),
    row("John Smith", "E12345678", "201", id_type="护照", nationality="USA", ethnicity=""),
]


@pytest.fixture
def rooms(world: World, system: Actor) -> Community:
    make_rooms(system, world.a)
    return world.a


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        Membership.objects.count(),
        Residency.objects.count(),
        Household.objects.count(),
        PopulationChange.objects.count(),
        AuditLog.objects.count(),
    )


def codes_of(result) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return {(e["row"], e["code"]) for e in result.report.as_dicts("zh-hans")}


def test_import_registers_and_moves_in_and_reimport_changes_nothing(
    rooms: Community, world: World
) -> None:
    manager = Actor.for_user(world.manager_a)
    result = import_residents(manager, rooms, xlsx(ROWS))
    assert result.ok, result.report.as_dicts()
    assert result.applied == 4
    owner = Person.objects.get(name="张伟")
    assert owner.id_number_masked == OWNER[:4] + "*" * 10 + OWNER[-4:]
    assert owner.birth_date == dt.date(1970, 3, 4) and owner.ethnicity == "01"
    assert Person.objects.get(name="赵磊").ethnicity == "03"
    assert Person.objects.get(name="John Smith").nationality == "USA"
    spouse = Residency.objects.get(person__name="李娜")
    head = Residency.objects.get(person=owner)
    assert head.kinship == Kinship.HEAD and spouse.household_id == head.household_id
    assert spouse.kinship == Kinship.SPOUSE and spouse.relation == Relation.FAMILY
    changes = PopulationChange.objects.filter(community=rooms)
    assert {c.source for c in changes} == {ChangeSource.IMPORT}
    assert sorted(changes.values_list("kind", flat=True)) == sorted(
        [ChangeKind.MOVE_IN] * 3 + [ChangeKind.TENANCY_START]
    )
    before = counts()
    again = import_residents(manager, rooms, xlsx(ROWS))
    assert again.ok and again.applied == 0 and again.unchanged == 4
    assert counts() == before


def test_changed_details_update_the_person(rooms: Community, system: Actor) -> None:
    import_residents(system, rooms, xlsx(ROWS))
    changed = [row("张 伟", OWNER, "101", phone="13900000009", kinship="户主"), *ROWS[1:]]
    result = import_residents(system, rooms, xlsx(changed))
    assert result.applied == 1 and result.unchanged == 3
    owner = Person.objects.get(name="张 伟")
    assert owner.phone_masked == "139****0009"
    update = AuditLog.objects.get(action="people.person.update")
    assert set(update.changes) >= {"name", "phone_masked"}
    assert Residency.objects.filter(person=owner).count() == 1


def test_a_person_of_another_community_is_linked_not_duplicated(
    rooms: Community, world: World, system: Actor
) -> None:
    lee = world.person_b  # registered by community B
    result = import_residents(system, rooms, xlsx([row("李强", "330106198503151238", "102")]))
    assert result.ok and result.applied == 1
    assert Person.objects.filter(name="李强").count() == 1
    assert Membership.objects.filter(person=lee, community=rooms).exists()
    assert Residency.objects.get(person=lee).room.community_id == rooms.pk


def test_bad_rows_are_reported_and_nothing_is_written(rooms: Community, system: Actor) -> None:
    before = counts()
    bad = [
        *ROWS,
        row("校验错", OWNER[:-1] + ("0" if OWNER[-1] != "0" else "1")),  # 6: checksum
        row("日期错", with_check("11010519700230001")),  # 7: 30 February
        row("性别错", resident_id(5), sex="女" if int(resident_id(5)[16]) % 2 else "男"),  # 8
        row("无房", resident_id(6), "999"),  # 9
        row("=A1", resident_id(7)),  # 10: a formula
        row("日期格", dt.date(2020, 1, 1)),  # 11: a date in a text column
        row("数字格", 110105198001010017),  # 12: a long number
        row("关系错", resident_id(8), relation="邻居"),  # 13
        row("电话错", resident_id(9), phone="12345"),  # 14
        row("将来", resident_id(10), date_from=dt.date(2999, 1, 1)),  # 15
        ROWS[0],  # 16: the same person and room again
    ]
    result = import_residents(system, rooms, xlsx(bad))
    assert not result.ok and result.applied == 0
    found = codes_of(result)
    assert found == {
        (6, "id_number_checksum"),
        (7, "id_number_birth_date"),
        (8, "sex_mismatch"),
        (9, "unknown_room"),
        (10, "formula_not_allowed"),
        (11, "wrong_cell_type"),
        (12, "wrong_cell_type"),
        (13, "unknown_relation"),
        (14, "validation_error"),
        (15, "date_out_of_range"),
        (16, "duplicate_in_file"),
    }
    reasons = {e["row"]: e for e in result.report.as_dicts("zh-hans")}
    assert "校验位" in reasons[6]["reason"] and reasons[6]["column"] == "证件号码"
    assert "出生日期" in reasons[7]["reason"]
    assert "999" in reasons[9]["reason"] and reasons[9]["column"] == "房号"
    assert "科学计数法" in reasons[12]["reason"] and reasons[12]["column"] == "证件号码"
    assert "手机号码" in reasons[14]["reason"]
    assert counts() == before


def test_wrong_files_are_refused(rooms: Community, system: Actor) -> None:
    with pytest.raises(FileRejected) as not_xlsx:
        import_residents(system, rooms, "姓名,证件号码\n张伟,1\n".encode())
    assert not_xlsx.value.code == "not_xlsx"
    missing = [h for h in HEADER if h != "证件号码"]
    with pytest.raises(FileRejected) as columns:
        import_residents(system, rooms, xlsx([], header=missing))
    assert columns.value.code == "wrong_columns"
    assert columns.value.details["missing"] == ["证件号码"]
    renamed = ["名字", *HEADER[1:]]
    with pytest.raises(FileRejected) as unknown:
        import_residents(system, rooms, xlsx([ROWS[0]], header=renamed))
    assert unknown.value.details["unknown"] == ["名字"]
    huge = b"PK\x03\x04" + bytes(50 * 1024 * 1024)
    with pytest.raises(FileRejected) as too_large:
        import_residents(system, rooms, huge)
    assert too_large.value.code == "file_too_large"
    assert not Residency.objects.exists()


def test_a_row_refused_at_write_time_undoes_the_whole_import(
    rooms: Community, system: Actor
) -> None:
    second_owner = row("王五", resident_id(20), "101")  # the room already has an owner
    before = counts()
    result = import_residents(system, rooms, xlsx([*ROWS, second_owner]))
    assert result.aborted and not result.ok
    assert codes_of(result) == {(6, "owner_overlap")}
    assert counts() == before
    partial = import_residents(system, rooms, xlsx([*ROWS, second_owner]), mode="valid_only")
    assert partial.applied == 4 and partial.invalid == 1
    assert not Person.objects.filter(name="王五").exists()
    assert Residency.objects.filter(community=rooms).count() == 4


def test_import_is_tenant_bound(rooms: Community, world: World) -> None:
    with pytest.raises(errors.NotFound):
        import_residents(Actor.for_user(world.manager_b), rooms, xlsx(ROWS))
    with pytest.raises(errors.PermissionDenied):
        import_residents(Actor.for_user(world.guard_a), rooms, xlsx(ROWS))
    assert not Residency.objects.exists()


def exported(data: bytes) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    return [dict(zip(values[0], r, strict=True)) for r in values[1:]]


def test_export_is_masked_unless_a_revealer_asks(
    rooms: Community, world: World, system: Actor
) -> None:
    import_residents(system, rooms, xlsx(ROWS))
    guard = Actor.for_user(world.guard_a)
    masked = exported(export_residents(guard, rooms))
    assert [r["姓名"] for r in masked] == ["张伟", "李娜", "赵磊", "John Smith"]  # head first
    assert masked[0]["证件号码"] == OWNER[:4] + "*" * 10 + OWNER[-4:]
    assert masked[0]["手机号码"] == "139****0001"
    with pytest.raises(errors.PermissionDenied):
        export_residents(guard, rooms, full=True)
    assert not AuditLog.objects.filter(sensitive=True).exists()
    police = Actor.for_user(world.police_a)
    full = exported(export_residents(police, rooms, full=True))
    assert full[0]["证件号码"] == OWNER and full[0]["手机号码"] == "13900000001"
    entry = AuditLog.objects.get(action="people.residents.export_full")
    assert entry.sensitive and entry.actor == world.police_a and entry.community_id == rooms.pk
    with pytest.raises(errors.NotFound):
        export_residents(Actor.for_user(world.manager_b), rooms)


def test_full_export_reads_back_in_either_language(
    rooms: Community, world: World, system: Actor
) -> None:
    import_residents(system, rooms, xlsx(ROWS))
    manager = Actor.for_user(world.manager_a)
    before = counts()
    for language in ("zh-hans", "en"):
        data = export_residents(manager, rooms, full=True, language=language)
        result = import_residents(manager, rooms, data)
        assert result.ok and result.unchanged == 4 and result.applied == 0, result.report.as_dicts()
    assert counts()[:5] == before[:5]


def ten_thousand(bad_row: int | None = None) -> bytes:
    """Return 10,000 residents, two per room of 25 buildings; row ``bad_row`` (Excel) invalid."""
    rows = []
    for i, number in enumerate(many_ids(10_000)):
        b, rest = divmod(i // 2, 200)
        u, r = divmod(rest, 100)
        room = str(100 * (1 + r // 2) + 1 + r % 2)
        if bad_row is not None and i + 2 == bad_row:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        owner = i % 2 == 0
        rows.append(
            row(f"居民{i}", number, room, building=str(b + 1), unit=str(u + 1),
                relation="业主" if owner else "家庭成员", kinship="" if owner else "配偶",
                phone=f"139{i:08d}")
        )  # fmt: skip
    return xlsx(rows, fast=True)


def test_ten_thousand_rows_with_one_bad_row_refuse_as_a_whole(world: World, system: Actor) -> None:
    make_rooms(system, world.a, buildings=25, per_unit=100)
    before = counts()
    result = import_residents(system, world.a, ten_thousand(bad_row=5_001))
    assert result.read == 10_000 and result.invalid == 1 and result.applied == 0
    assert codes_of(result) == {(5_001, "id_number_checksum")}
    assert counts() == before


def test_ten_thousand_rows_valid_only_imports_the_rest(world: World, system: Actor) -> None:
    make_rooms(system, world.a, buildings=25, per_unit=100)
    result = import_residents(system, world.a, ten_thousand(bad_row=5_001), mode="valid_only")
    assert result.applied == 9_999 and result.invalid == 1
    assert Residency.objects.filter(community=world.a).count() == 9_999
    assert PopulationChange.objects.filter(community=world.a).count() == 9_999


# -- background jobs ------------------------------------------------------------------


@pytest.fixture
def jobs_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    return tmp_path / "jobs"


def run_worker() -> int:
    return worker.run_due("test-worker")


def test_a_job_imports_in_the_worker_and_forgets_the_file(
    rooms: Community, world: World, jobs_dir: Path
) -> None:
    manager = Actor.for_user(world.manager_a)
    bad = [*ROWS, row("无房", resident_id(6), "999")]
    job = jobs.do_create_import_job(
        manager, "people.residents", rooms, xlsx(bad), filename="a/住户.xlsx", mode="valid_only"
    )
    assert job.status == ImportJob.Status.PENDING and job.filename == "住户.xlsx"
    assert job.upload_sealed.startswith("v1.") and OWNER not in job.upload_sealed
    assert Task.objects.filter(name="core.import_job", payload={"job_id": job.pk}).exists()
    seen: list[tuple[int, int]] = []
    real = jobs.write_progress

    def spy(job_id: int, done: int, total: int) -> None:
        real(job_id, done, total)
        running = ImportJob.objects.get(pk=job_id)
        seen.append(jobs.read_progress(running))

    jobs.write_progress = spy  # type: ignore[assignment]
    try:
        assert run_worker() == 1
    finally:
        jobs.write_progress = real  # type: ignore[assignment]
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.ok
    assert (job.read, job.applied, job.invalid, job.total, job.done) == (5, 4, 1, 4, 4)
    assert job.upload_sealed == "" and job.finished_at is not None
    assert not list(jobs_dir.glob("*"))
    assert job.report == [
        {
            "row": 6,
            "column": "room",
            "value": "999",
            "reason": "本社区没有 %(building)s 号楼 %(unit)s 单元 %(room)s 室，请先导入房屋。",
            "params": {"building": "1", "unit": "1", "room": "999"},
            "code": "unknown_room",
        }
    ]
    shown = jobs.shown_report(job, "zh-hans")[0]
    assert shown["column"] == "房号" and "1 号楼 1 单元 999 室" in shown["reason"]
    assert PopulationChange.objects.filter(community=rooms).count() == 4
    assert run_worker() == 0  # delivered once


def test_a_job_masks_personal_data_in_its_report(
    rooms: Community, world: World, jobs_dir: Path
) -> None:
    wrong = OWNER[:-1] + ("0" if OWNER[-1] != "0" else "1")
    job = jobs.do_create_import_job(
        Actor.for_user(world.manager_a), "people.residents", rooms, xlsx([row("张伟", wrong)])
    )
    run_worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.invalid == 1 and job.applied == 0
    assert job.report[0]["value"] == wrong[:4] + "*" * 10 + wrong[-4:]
    assert wrong not in json.dumps(job.report)


def test_a_wrong_file_is_refused_before_it_is_stored(rooms: Community, world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    with pytest.raises(FileRejected) as columns:
        jobs.do_create_import_job(manager, "people.residents", rooms, xlsx([], header=HEADER[:2]))
    assert columns.value.code == "wrong_columns"
    with pytest.raises(FileRejected):
        jobs.do_create_import_job(manager, "people.residents", rooms, b"not a workbook")
    with pytest.raises(errors.PermissionDenied):
        jobs.do_create_import_job(
            Actor.for_user(world.guard_a), "people.residents", rooms, xlsx(ROWS)
        )
    assert not ImportJob.objects.exists() and not Task.objects.exists()


def test_a_job_runs_with_the_uploaders_grants_of_the_moment(
    rooms: Community, world: World, system: Actor, jobs_dir: Path
) -> None:
    job = jobs.do_create_import_job(
        Actor.for_user(world.manager_a), "people.residents", rooms, xlsx(ROWS)
    )
    for grant in Grant.objects.filter(user=world.manager_a):
        do_withdraw_grant(system, grant)
    run_worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.REFUSED and job.upload_sealed == ""
    assert not Residency.objects.exists()


def test_an_interrupted_job_is_not_run_twice(
    rooms: Community, world: World, jobs_dir: Path
) -> None:
    job = jobs.do_create_import_job(
        Actor.for_user(world.manager_a), "people.residents", rooms, xlsx(ROWS)
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "重新上传" in job.message
    assert job.upload_sealed == "" and not Residency.objects.exists()


def test_old_jobs_are_purged_and_unrun_ones_forget_their_file(
    rooms: Community, world: World, jobs_dir: Path
) -> None:
    manager = Actor.for_user(world.manager_a)
    finished = jobs.do_create_import_job(manager, "people.residents", rooms, xlsx(ROWS))
    run_worker()
    stale = jobs.do_create_import_job(manager, "people.residents", rooms, xlsx(ROWS))
    Task.objects.filter(payload={"job_id": stale.pk}).delete()  # no worker ever ran it
    long_ago = timezone.now() - dt.timedelta(days=40)
    ImportJob.objects.filter(pk=finished.pk).update(finished_at=long_ago)
    ImportJob.objects.filter(pk=stale.pk).update(created_at=long_ago)
    jobs.purge_import_jobs()
    assert not ImportJob.objects.filter(pk=finished.pk).exists()
    stale.refresh_from_db()
    assert stale.status == ImportJob.Status.FAILED and stale.upload_sealed == ""


# -- console --------------------------------------------------------------------------


def upload(client: Client, community_id: int, data: bytes, mode: str = "all_or_nothing"):  # type: ignore[no-untyped-def]
    file = SimpleUploadedFile("住户.xlsx", data)
    return client.post(
        f"/communities/{community_id}/residents/import/", {"file": file, "mode": mode}
    )


def test_console_upload_runs_as_a_job_with_progress_then_the_report(
    rooms: Community,
    world: World,
    login,
    jobs_dir: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = login(world.manager_a)
    page = client.get("/people/")
    assert f'href="/communities/{rooms.pk}/residents/import/"' in page.content.decode()
    form = client.get(f"/communities/{rooms.pk}/residents/import/")
    assert form.status_code == 200 and 'id="resident-import-form"' in form.content.decode()
    response = upload(client, rooms.pk, xlsx([*ROWS, row("无房", resident_id(6), "999")]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/import-jobs/{job.pk}/"
    pending = client.get(f"/import-jobs/{job.pk}/").content.decode()
    assert 'id="import-progress"' in pending and f"/import-jobs/{job.pk}/status/" in pending
    status = client.get(f"/import-jobs/{job.pk}/status/").json()
    assert status["status"] == "pending" and not status["finished"]
    run_worker()
    status = client.get(f"/import-jobs/{job.pk}/status/").json()
    assert status["finished"] and status["invalid"] == 1 and status["done"] == status["total"]
    done = client.get(f"/import-jobs/{job.pk}/")
    html = done.content.decode()
    assert 'data-row="6"' in html and 'data-code="unknown_room"' in html
    assert "1 号楼 1 单元 999 室" in html and "没有导入任何数据" in html
    assert not Residency.objects.exists()
    listing = client.get(f"/communities/{rooms.pk}/residents/import/").content.decode()
    assert f'href="/import-jobs/{job.pk}/"' in listing


def test_console_refuses_a_wrong_file_at_once(rooms: Community, world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    response = upload(client, rooms.pk, b"\x89PNG\r\n\x1a\nnot a workbook")
    assert response.status_code == 422 and 'id="import-file-error"' in response.content.decode()
    renamed = upload(client, rooms.pk, xlsx([ROWS[0]], header=["名字", *HEADER[1:]]))
    assert renamed.status_code == 422 and "名字" in renamed.content.decode()
    assert not ImportJob.objects.exists()


def test_console_jobs_are_private_and_tenant_bound(
    rooms: Community,
    world: World,
    login,
    system: Actor,  # type: ignore[no-untyped-def]
) -> None:
    job = jobs.do_create_import_job(
        Actor.for_user(world.manager_a), "people.residents", rooms, xlsx(ROWS)
    )
    other = login(world.admin)  # sees every community, but the job is not theirs
    assert other.get(f"/import-jobs/{job.pk}/").status_code == 404
    assert other.get(f"/import-jobs/{job.pk}/status/").status_code == 404
    manager_b = login(world.manager_b)
    for url in ("residents/import/", "residents/template.xlsx", "residents/export.xlsx"):
        assert manager_b.get(f"/communities/{rooms.pk}/{url}").status_code == 404
    guard = login(world.guard_a)
    page = guard.get(f"/communities/{rooms.pk}/residents/import/").content.decode()
    assert "resident-import-form" not in page and "resident-export-full" not in page
    assert upload(guard, rooms.pk, xlsx(ROWS)).status_code == 403


def test_console_template_and_exports(rooms: Community, world: World, system: Actor, login) -> None:  # type: ignore[no-untyped-def]
    import_residents(system, rooms, xlsx(ROWS))
    client = login(world.manager_a)
    template = client.get(f"/communities/{rooms.pk}/residents/template.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(template.content)).worksheets[0]
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == HEADER
    masked = client.get(f"/communities/{rooms.pk}/residents/export.xlsx")
    assert exported(masked.content)[0]["证件号码"] != OWNER
    assert not AuditLog.objects.filter(sensitive=True).exists()
    full = client.post(f"/communities/{rooms.pk}/residents/export.xlsx", {"full": "1"})
    assert full["Cache-Control"] == "no-store"
    assert exported(full.content)[0]["证件号码"] == OWNER
    assert (
        AuditLog.objects.filter(action="people.residents.export_full", sensitive=True).count() == 1
    )
    guard = login(world.guard_a)
    refused = guard.post(f"/communities/{rooms.pk}/residents/export.xlsx", {"full": "1"})
    assert refused.status_code == 403
