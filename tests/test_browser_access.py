"""In Chromium: a resident invites a visitor; the visitor's phone shows the QR pass; a
simulated door terminal reads it from a screenshot and the platform lets the visitor in."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.utils import timezone

from linli.access import keys, terminal
from linli.access.decisions import calendars
from linli.access.models import AccessEvent, AccessPoint, Visitor
from linli.core.tenancy import Actor
from linli.devices import credentials
from linli.devices.models import Device
from linli.devices.simulator import HttpDevice
from linli.people.actions import do_open_resident_account, do_register_person, do_start_residency
from linli.places.actions import do_create_community, do_generate_building
from linli.places.models import Room
from tests.test_browser import PASSWORD, chromium_page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def estate() -> tuple[str, str]:
    """A community with a gate served by a terminal and a resident with an account."""
    keys.cache.forget()
    calendars.forget()
    system = Actor.system("browser-test")
    community = do_create_community(system, name="翠苑一区", code="demo", division_code="330106")
    building = do_generate_building(
        system, community, number="1", floors_above=2, units=1, rooms_per_floor=2
    )
    person = do_register_person(system, community, name="王芳", id_number="11010519491231002X")
    room = Room.objects.filter(unit__building=building).order_by("number").first()
    assert room is not None
    do_start_residency(system, person, room, relation="owner", date_from=timezone.localdate())
    do_open_resident_account(system, person, community, username="wangfang", password=PASSWORD)
    gate = AccessPoint.objects.create(
        community=community, code="gate-1", name="南门", kind="community_gate"
    )
    device = Device(
        community=community, code="gate-reader", name="南门读头", kind="code_reader", serial="R1"
    )
    secret = credentials.issue(device)
    device.save()
    gate.devices.add(device)
    return device.code, secret


def manager_signed_in(page: Any, url: str, username: str) -> AccessPoint:
    """The estate, and a property manager of it signed in on ``page``; return its gate."""
    from linli.core.actions import do_create_user, do_give_grant
    from linli.core.choices import Role

    estate()
    system = Actor.system("browser-test")
    manager = do_create_user(system, username=username, password=PASSWORD)
    gate = AccessPoint.objects.get(code="gate-1")
    do_give_grant(system, community_id=gate.community_id, role=Role.PROPERTY_MANAGER, user=manager)
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    return gate


def test_a_resident_invites_a_visitor_whose_qr_opens_the_gate(
    live_server: Any,
    chromium_page: Any,  # noqa: F811
) -> None:
    code, secret = estate()
    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.click("#nav-visitors")
    page.wait_for_selector("#invite-form")
    assert page.inner_text("#page-title") == "我的访客"
    page.fill("#id_name", "张三")
    page.fill("#id_phone", "13900001111")
    page.fill("#id_hours", "3")
    page.check("text=南门")
    page.click("#invite-submit")
    link = page.input_value("#invite-link-value")
    assert "/v/" in link
    assert "张三" in page.inner_text("#visitor-list")

    # The visitor opens the link on their phone: no sign-in, a small screen.
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        phone.goto(link)
        phone.wait_for_selector("#pass-code svg")
        assert "张三，欢迎来访。" in phone.inner_text("#visitor-pass")
        shot = phone.locator("#pass-code").screenshot()
    finally:
        phone.close()

    # The gate's terminal reads the code from the image and asks the platform.
    text = terminal.read_qr(shot)
    assert text.startswith("LP1:")
    door = HttpDevice(live_server.url, code, secret)
    body = json.dumps({"method": "qr", "value": text, "direction": "in"}).encode()
    answer = door.request("POST", "access/decide", body)
    assert answer.status == 200, answer.body
    assert (answer.body["result"], answer.body["reason"]) == ("allow", "visitor_allowed")
    again = door.request("POST", "access/decide", body)
    assert again.body["reason"] == "replayed"
    assert AccessEvent.objects.filter(result="allow", visitor__name="张三").count() == 1
    assert Visitor.objects.get(name="张三").status == "arrived"

    # The resident sees the visitor arrived.
    page.reload()
    assert "已到访" in page.inner_text("#visitor-list")


def test_the_access_log_shows_new_passages_without_a_reload(
    live_server: Any,
    chromium_page: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    from linli.access.decisions import Presented, decide

    page = chromium_page
    gate = manager_signed_in(page, live_server.url, "gate-manager")
    decide(gate, Presented("card", "0BADC0DE"))  # an unknown card: the log is not empty
    page.goto(f"{live_server.url}/access/log/")
    rows = page.locator("#list-table tbody tr")
    expect(rows).to_have_count(1)
    decide(gate, Presented("card", "0DDBA11"))  # meanwhile, at the gate
    expect(rows).to_have_count(2, timeout=10_000)  # the page asked for what is new
    expect(rows.first).to_contain_text("未登记的凭证")


def test_a_manager_makes_a_named_list_and_adds_a_resident_to_it(
    live_server: Any,
    chromium_page: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    from linli.access.models import AccessRight, Group, Policy

    page = chromium_page
    gate = manager_signed_in(page, live_server.url, "list-manager")
    page.goto(f"{live_server.url}/access/groups/new/")
    page.fill("#id_name", "夜班名单")
    page.select_option("#id_kind", "list")
    page.locator("#group-form [type=submit]").click()
    expect(page.locator("#member-list")).to_contain_text("名单还是空的")
    group = Group.objects.get(name="夜班名单")
    policy = Policy.objects.create(
        community_id=gate.community_id, name="夜班进南门", effect="allow", group=group
    )
    policy.points.set([gate])
    page.fill("#member-q", "王")
    page.locator("#member-add [type=submit]").first.click()
    page.locator("#member-add li[data-match] button").first.click()
    expect(page.locator("#member-list tbody tr[data-member]")).to_have_count(1)
    expect(page.locator("#member-list")).to_contain_text("王芳")
    expect(page.locator("#group-policies")).to_contain_text("夜班进南门")
    assert AccessRight.objects.filter(point=gate, policy=policy).count() == 1
