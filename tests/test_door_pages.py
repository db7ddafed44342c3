"""Console pages of access control: points, one point, the live log; tenancy and roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from linli.access import actions, compile
from linli.access.choices import Effect, GroupKind
from linli.access.decisions import Presented, decide
from linli.access.models import AccessEvent, AccessPoint, Group, Policy
from linli.core.tenancy import Actor
from linli.people.actions import do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


@pytest.fixture
def gate(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> AccessPoint:
    a = world.a
    building = do_generate_building(
        system, a, number="1", floors_above=1, units=1, rooms_per_floor=1
    )
    point = AccessPoint.objects.create(
        community=a, code="gate-1", name="南门", kind="community_gate"
    )
    group = Group.objects.create(community=a, name="住户", kind=GroupKind.RESIDENTS)
    policy = Policy.objects.create(community=a, name="住户通行", effect=Effect.ALLOW, group=group)
    policy.points.set([point])
    compile.compile_policy(policy)
    with django_capture_on_commit_callbacks(execute=True):
        do_start_residency(
            system,
            world.person_a,
            Room.objects.get(unit__building=building),
            relation="owner",
            date_from=timezone.localdate(),
        )
    actions.ensure_pass(world.person_a.pk, a.pk)
    decide(point, Presented("qr", actions.show_pass(world.person_a.pk, a.pk)))
    decide(point, Presented("card", "FFFF0000"))
    return point


def test_points_list_counts_todays_passages(world: World, login: Any, gate: AccessPoint) -> None:
    page = login(world.manager_a).get("/access/")
    html = page.content.decode()
    assert page.status_code == 200 and "南门" in html and 'id="nav-access"' in html


def test_a_point_shows_policies_who_may_pass_and_recent_passages(
    world: World, login: Any, gate: AccessPoint
) -> None:
    html = login(world.manager_a).get(f"/access/points/{gate.pk}/").content.decode()
    assert "住户通行" in html and "王芳" in html
    assert "未登记的凭证" in html  # the refused card, with its reason's label
    assert "<svg" in html  # passages per hour


def test_the_log_filters_and_sends_only_newer_rows_live(
    world: World, login: Any, gate: AccessPoint
) -> None:
    client = login(world.guard_a)
    page = client.get("/access/log/")
    html = page.content.decode()
    assert page.status_code == 200 and "data-live-url" in html
    assert "王芳" in html and "未登记的凭证" in html
    denied = client.get("/access/log/?result=deny").content.decode()
    assert "未登记的凭证" in denied and "王芳" not in denied
    newest = AccessEvent.objects.order_by("-pk").first()
    assert newest is not None
    quiet = client.get(f"/access/log/?after={newest.pk}")
    assert quiet.content.decode().strip() == "" and quiet["X-Last-Id"] == str(newest.pk)
    decide(gate, Presented("card", "EEEE0000"))
    fresh = client.get(f"/access/log/?after={newest.pk}")
    assert fresh.content.decode().count("<tr") == 1 and int(fresh["X-Last-Id"]) > newest.pk


def test_another_communitys_point_is_not_found(world: World, login: Any, gate: AccessPoint) -> None:
    assert login(world.manager_b).get(f"/access/points/{gate.pk}/").status_code == 404
    log = login(world.manager_b).get("/access/log/").content.decode()
    assert "王芳" not in log


def test_residents_do_not_see_the_access_pages(
    world: World, system: Actor, client: Any, gate: AccessPoint
) -> None:
    from linli.people.actions import do_open_resident_account
    from tests.conftest import PASSWORD

    user = do_open_resident_account(
        system, world.person_a, world.a, username="wangfang", password=PASSWORD
    )
    client.force_login(user)
    assert client.get("/access/").status_code == 403
    assert client.get("/access/log/").status_code == 403
