"""In Chromium, a manager uploads a residents file with one bad row; the worker imports it as a
background job while the page shows its progress, then the page shows the row's problem."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from linli.core import worker
from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.models import ImportJob
from linli.core.tenancy import Actor
from linli.people.models import Person, Residency
from linli.places.actions import do_create_community
from tests.test_browser import PASSWORD, chromium_page  # noqa: F401  (the fixture)
from tests.test_resident_import import make_rooms, resident_id, row, xlsx

pytestmark = pytest.mark.browser


def test_resident_import_job_shows_progress_then_the_report(
    transactional_db: None,
    live_server,  # type: ignore[no-untyped-def]
    chromium_page,  # type: ignore[no-untyped-def]  # noqa: F811
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    settings.VAR_DIR = tmp_path  # where the worker keeps a running job's progress
    system = Actor.system("browser-test")
    community = do_create_community(system, name="翠苑一区", code="demo")
    make_rooms(system, community)
    user = do_create_user(system, username="demo-manager", password=PASSWORD)
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)
    upload = tmp_path / "住户.xlsx"
    upload.write_bytes(
        xlsx(
            [
                row("张伟", resident_id(1, dt.date(1970, 3, 4)), "101"),
                row("李娜", resident_id(2, dt.date(1972, 6, 7)), "909", relation="家庭成员"),
            ]
        )
    )

    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.goto(f"{live_server.url}/people/")
    page.click("#resident-import-export")
    expect(page).to_have_url(re.compile(r"/residents/import/$"))
    page.set_input_files("#id_file", str(upload))
    page.click("#resident-import-submit")

    expect(page).to_have_url(re.compile(r"/import-jobs/\d+/$"))
    expect(page.locator("#import-progress")).to_be_visible()
    expect(page.locator("#import-phase")).to_contain_text("排队")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PENDING

    assert worker.run_due("browser-test-worker") == 1  # the worker picks the job up

    report = page.locator("#import-report")  # the page polls, then reloads with the report
    expect(report).to_be_visible()
    expect(report.locator("tbody tr")).to_have_count(1)
    bad = report.locator('tbody tr[data-row="3"]')
    expect(bad).to_contain_text("房号")
    expect(bad).to_contain_text("本社区没有 1 号楼 1 单元 909 室")
    expect(page.locator("#import-result")).to_contain_text("没有导入任何数据")
    expect(page.locator('[data-count="read"]')).to_have_text("2")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.upload_sealed == ""
    assert not Residency.objects.exists()
    assert not Person.objects.filter(name="张伟").exists()
