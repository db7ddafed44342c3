"""In Chromium, a property manager uploads a rooms file with one bad row and reads the report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest

from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.places.actions import do_create_community
from linli.places.models import Room
from tests.test_browser import PASSWORD, chromium_page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def rooms_file(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["楼号", "单元号", "房号", "楼层", "面积 (m²)", "用途"])
    ws.append(["1", "1", "101", 1, 89, "住宅"])
    ws.append(["1", "1", "102", 1, 89, "城堡"])
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_import_with_an_error_shows_the_report(
    transactional_db: None,
    live_server,  # type: ignore[no-untyped-def]
    chromium_page,  # type: ignore[no-untyped-def]  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    system = Actor.system("browser-test")
    community = do_create_community(system, name="翠苑一区", code="demo")
    user = do_create_user(system, username="demo-manager", password=PASSWORD)
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)

    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.goto(f"{live_server.url}/communities/{community.pk}/")
    page.click("#import-rooms")
    expect(page).to_have_url(re.compile(r"/rooms/import/$"))
    page.set_input_files("#id_file", str(rooms_file(tmp_path / "房屋.xlsx")))
    page.click("#room-import-submit")

    report = page.locator("#import-report")
    expect(report).to_be_visible()
    expect(report.locator("tbody tr")).to_have_count(1)
    row = report.locator('tbody tr[data-row="3"]')
    expect(row).to_contain_text("城堡")
    expect(row).to_contain_text("未知的房屋用途")
    expect(page.locator("#import-result")).to_contain_text("没有导入任何数据")
    assert not Room.objects.exists()
