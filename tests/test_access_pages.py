"""Resident pages: my pass (rotating QR), my visitors (invite, cancel), the visitor's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.access.models import AccessPoint, Visitor
from linli.core.tenancy import Actor
from linli.people.actions import do_open_resident_account
from tests.conftest import PASSWORD, World


@pytest.fixture
def resident(world: World, system: Actor, client: Client) -> Client:
    user = do_open_resident_account(
        system, world.person_a, world.a, username="wangfang", password=PASSWORD
    )
    client.force_login(user)
    return client


@pytest.fixture
def gate(world: World) -> AccessPoint:
    return AccessPoint.objects.create(
        community=world.a, code="gate", name="南门", kind="community_gate"
    )


def test_my_pass_shows_a_qr_code_that_renews(resident: Client) -> None:
    page = resident.get("/me/pass/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert "<svg" in html and 'data-rotate-url="/me/pass/code?community=' in html
    assert "王芳" in html
    code = resident.get(re.search(r'data-rotate-url="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert code.status_code == 200 and code["Cache-Control"] == "no-store"
    body = code.json()
    assert body["svg"].startswith("<svg") and body["renew_in"] == 20 and body["lifetime"] == 30
    assert body["svg"] != resident.get("/me/pass/code").json()["svg"]  # a new pass each time


def test_staff_without_a_pass_are_refused(world: World, login: Any) -> None:
    assert login(world.manager_a).get("/me/pass/").status_code == 403


def test_invite_a_visitor_share_the_link_and_cancel(
    world: World, resident: Client, gate: AccessPoint
) -> None:
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    answer = resident.post(
        "/me/visitors/",
        {
            "name": "张三",
            "phone": "13900001111",
            "starts_at": start,
            "hours": 3,
            "points": [gate.pk],
        },
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    link = re.search(r'id="invite-link-value" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert "/v/" in link and "139****1111" in html
    path = link[link.index("/v/") :]
    visitor_page = Client().get(path)  # no sign-in
    assert visitor_page.status_code == 200
    assert "<svg" in visitor_page.content.decode() and "张三" in visitor_page.content.decode()
    assert Client().get(path + "code").json()["svg"].startswith("<svg")
    visitor = Visitor.objects.get(name="张三")
    cancel = resident.post(f"/me/visitors/{visitor.pk}/cancel/")
    assert cancel.status_code == 302
    gone = Client().get(path)
    assert gone.status_code == 410 and "邀请已取消" in gone.content.decode()
    assert Client().get(path + "code").json() == {"code": "cancelled"}


def test_bad_invitations_show_field_errors(resident: Client, gate: AccessPoint) -> None:
    answer = resident.post("/me/visitors/", {"name": "", "starts_at": "x", "hours": 0})
    html = answer.content.decode()
    assert answer.status_code == 200 and html.count("invalid-feedback") >= 3
    assert not Visitor.objects.exists()


def test_unknown_links_and_other_peoples_visitors(
    world: World, system: Actor, resident: Client, gate: AccessPoint
) -> None:
    assert Client().get("/v/not-a-real-link/").status_code == 404
    from linli.access.visitors import do_invite_visitor

    now = timezone.now()
    other, _ = do_invite_visitor(
        system,
        world.a.pk,
        name="陌生人",
        starts_at=now,
        ends_at=now + timezone.timedelta(hours=1),
        point_ids=[gate.pk],
    )
    assert resident.post(f"/me/visitors/{other.pk}/cancel/").status_code == 404
    assert "陌生人" not in resident.get("/me/visitors/").content.decode()
