"""A real Chromium signs in, sees the dashboard in Chinese with its map, switches to English.

Runs against pytest-django's ``live_server`` with Debian's Chromium (``LINLI_TEST_CHROMIUM``
overrides the path). Without Chromium the test is skipped, except in CI, where it fails.
A screenshot of the page is saved to ``test-artifacts/`` when a step fails.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

# Playwright's sync API keeps an event loop running in this thread; Django would otherwise
# refuse ORM calls made from it (the live server's own thread is unaffected).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.people.actions import do_register_person, do_start_residency
from linli.people.choices import Kinship
from linli.places.actions import (
    do_create_building,
    do_create_community,
    do_create_rooms,
    do_create_unit,
)
from linli.places.geometry import rectangle

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LINLI_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def chromium_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Yield a Playwright page in headless Chromium; save a screenshot if the test fails."""
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM} (set LINLI_TEST_CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        page.set_default_timeout(15_000)
        failed_before = request.session.testsfailed
        try:
            yield page
        finally:
            # The test's own report is logged before teardown: a new failure is ours.
            if request.session.testsfailed > failed_before:
                ARTIFACTS.mkdir(exist_ok=True)
                shot = ARTIFACTS / f"{request.node.name}.png"
                page.screenshot(path=str(shot), full_page=True)
            browser.close()
            # Code inside the Playwright block runs in another context, so Django opened a
            # second database connection for it; close it, or PostgreSQL refuses to drop
            # the test database at the end of the session.
            connections.close_all()


def demo_like_world() -> None:
    """Create a community with a boundary, two buildings, a resident and its manager."""
    system = Actor.system("browser-test")
    community = do_create_community(
        system,
        name="翠苑一区",
        code="demo",
        division_code="330106",
        boundary=rectangle(120.13, 30.27, 200, 150),
    )
    for number, lon in (("1", 120.1303), ("2", 120.1309)):
        do_create_building(
            system,
            community,
            number=number,
            floors_above=6,
            footprint=rectangle(lon, 30.2703, 32, 14),
        )
    do_register_person(system, community, name="王芳", id_number="11010519491231002X")
    user = do_create_user(system, username="demo-manager", password=PASSWORD)
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)


def test_sign_in_dashboard_language_and_sign_out(
    transactional_db: None,
    live_server,  # type: ignore[no-untyped-def]
    chromium_page,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    demo_like_world()
    page = chromium_page
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.fill("#id_username", "demo-manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")

    # The dashboard shell, in Chinese, with the real counts and the map.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#page-title")).to_contain_text("概览")
    expect(page.locator("#page-title")).to_contain_text("翠苑一区")
    expect(page.locator('[data-count="buildings"]')).to_have_text("2")
    expect(page.locator('[data-count="people"]')).to_have_text("1")
    expect(page.locator("#side-nav")).to_contain_text("人员")
    map_svg = page.locator("#community-map svg.linli-map")
    expect(map_svg).to_be_visible()
    expect(map_svg.locator("path.footprint")).to_have_count(2)
    box = map_svg.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100

    # Switch to English: the page reloads with <html lang="en">.
    page.click('#language-switch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#dashboard-counts")).to_be_visible()

    # Sign out: back on the sign-in page, and the dashboard is closed again.
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def furnished_world() -> None:
    """Create a community with rooms, a household of two and a tenant, and its manager."""
    system = Actor.system("browser-test")
    community = do_create_community(system, name="翠苑一区", code="tree", division_code="330106")
    building = do_create_building(system, community, number="3", floors_above=6)
    unit = do_create_unit(system, building, number="1")
    r101, r102 = do_create_rooms(
        system,
        unit,
        [("101", 1, Decimal("89"), "residential"), ("102", 1, Decimal("56"), "rental")],
    )
    head = do_register_person(system, community, name="王芳", id_number="11010519491231002X")
    spouse = do_register_person(system, community, name="张伟", id_number="330106198503151238")
    tenant = do_register_person(
        system, community, name="孙七", id_type="passport", id_number="E1234567"
    )
    start = timezone.localdate() - dt.timedelta(days=40)
    do_start_residency(system, head, r101, relation="owner", date_from=start)
    do_start_residency(
        system, spouse, r101, relation="family", date_from=start, kinship=Kinship.SPOUSE
    )
    do_start_residency(system, tenant, r102, relation="tenant", date_from=start)
    user = do_create_user(system, username="tree-manager", password=PASSWORD)
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)


def test_tree_room_person_and_statistics(
    transactional_db: None,
    live_server,  # type: ignore[no-untyped-def]
    chromium_page,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    furnished_world()
    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "tree-manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")

    # Community → its tree: the building is open, rooms show occupancy and use.
    page.click("#side-nav >> text=社区")
    page.click("#list-table >> text=翠苑一区")
    page.click("#community-tree-link")
    expect(page.locator("#page-title")).to_contain_text("楼栋房屋")
    room = page.locator('a.linli-room[data-room="101"]')
    expect(room).to_be_visible()
    expect(room.locator('[data-count="residents"]')).to_have_text("2")
    expect(page.locator('a.linli-room[data-room="102"] [data-use="rental"]')).to_have_text("出租")
    # Units fold away and open again.
    unit = page.locator("details.linli-tree-unit").first
    unit.locator("summary").click()
    expect(room).to_be_hidden()
    unit.locator("summary").click()
    expect(room).to_be_visible()

    # → the room: the household, head first, with kinship.
    room.click()
    expect(page.locator("#page-title")).to_contain_text("3号楼1单元101室")
    rows = page.locator("#current-residents tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("王芳")
    expect(rows.nth(1)).to_contain_text("配偶")

    # → a person: masked identity, the household, no full ID number.
    rows.nth(1).get_by_role("link", name="张伟").click()
    expect(page.locator("#page-title")).to_have_text("张伟")
    expect(page.locator("#person-fields")).to_contain_text("3301**********1238")
    expect(page.locator("#residencies")).to_contain_text("户主 王芳")
    expect(page.locator("body")).not_to_contain_text("330106198503151238")

    # Statistics: the charts are drawn and sized, with their data behind a toggle.
    page.click("#nav-statistics")
    expect(page.locator("#page-title")).to_contain_text("人口统计")
    expect(page.locator('[data-count="total"]')).to_have_text("3")
    charts = page.locator("#population-charts svg")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 5
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 100
    expect(
        page.locator("#population-charts svg.linli-donut-chart path.slice").first
    ).to_be_visible()
    expect(page.locator("#changes-chart svg.linli-line-chart")).to_be_visible()
    table = page.locator("#population-charts details.linli-chart-data").first
    expect(table.locator("table")).to_be_hidden()
    table.locator("summary").click()
    expect(table.locator("table")).to_be_visible()
