"""Visitors: invitations by residents, walk-ins, the private link's pass, cancel, expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from linli.access import visitors
from linli.access.choices import CredentialStatus, VisitorStatus
from linli.access.decisions import Presented, decide
from linli.access.models import AccessPoint, Credential, Visitor
from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_open_resident_account
from tests.conftest import PASSWORD, World


@pytest.fixture
def points(world: World) -> dict[str, AccessPoint]:
    a = world.a
    return {
        "gate": AccessPoint.objects.create(
            community=a, code="gate", name="南门", kind="community_gate"
        ),
        "b1": AccessPoint.objects.create(
            community=a, code="b1", name="1幢", kind="building_entrance"
        ),
    }


@pytest.fixture
def resident(world: World, system: Actor) -> Actor:
    user = do_open_resident_account(
        system, world.person_a, world.a, username="wangfang", password=PASSWORD
    )
    return Actor.for_user(user)


def window(hours: int = 2) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    return now, now + dt.timedelta(hours=hours)


def test_a_resident_invites_and_the_link_shows_a_pass_that_opens_only_the_named_door(
    world: World, resident: Actor, points: dict[str, AccessPoint]
) -> None:
    start, end = window()
    visitor, token = visitors.do_invite_visitor(
        resident,
        world.a.pk,
        name="张三",
        phone="139 0000 1111",
        starts_at=start,
        ends_at=end,
        point_ids=[points["gate"].pk],
        purpose="探亲",
    )
    assert visitor.host_id == world.person_a.pk and visitor.phone_masked == "139****1111"
    assert "13900001111" not in visitor.phone_sealed and token not in visitor.link_hash
    found = visitors.by_link(token)
    assert found.pk == visitor.pk
    text = visitors.visitor_pass(found)
    assert decide(points["gate"], Presented("qr", text)).reason == "visitor_allowed"
    assert Visitor.objects.get(pk=visitor.pk).status == VisitorStatus.ARRIVED
    assert decide(points["b1"], Presented("qr", visitors.visitor_pass(found))).reason == (
        "no_permission"
    )
    assert AuditLog.objects.filter(action="access.visitor.invite", object_id=str(visitor.pk))


def test_bad_invitations_name_their_fields(
    world: World, resident: Actor, points: dict[str, AccessPoint]
) -> None:
    start, end = window()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": ""}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"ends_at": start}, "ends_at"),
        ({"ends_at": start + dt.timedelta(days=8)}, "ends_at"),
        ({"starts_at": start - dt.timedelta(hours=1)}, "starts_at"),
        ({"point_ids": []}, "point_ids"),
        ({"point_ids": [999999]}, "point_ids"),
    ]
    for change, field in cases:
        kwargs: dict[str, Any] = {
            "name": "李四",
            "starts_at": start,
            "ends_at": end,
            "point_ids": [points["gate"].pk],
        } | change
        with pytest.raises(errors.ValidationFailed) as caught:
            visitors.do_invite_visitor(resident, world.a.pk, **kwargs)
        assert field in caught.value.details, (change, caught.value.details)
    assert not Visitor.objects.exists()


def test_a_door_of_another_community_cannot_be_given(
    world: World, resident: Actor, points: dict[str, AccessPoint]
) -> None:
    other = AccessPoint.objects.create(community=world.b, code="x", name="外", kind="door")
    start, end = window()
    with pytest.raises(errors.ValidationFailed):
        visitors.do_invite_visitor(
            resident, world.a.pk, name="李四", starts_at=start, ends_at=end, point_ids=[other.pk]
        )
    # A resident cannot invite into a community they do not belong to.
    with pytest.raises(errors.NotFound):
        visitors.do_invite_visitor(
            resident, world.b.pk, name="李四", starts_at=start, ends_at=end, point_ids=[other.pk]
        )


def test_cancelled_left_and_expired_visitors_lose_their_pass(
    world: World, system: Actor, resident: Actor, points: dict[str, AccessPoint]
) -> None:
    start, end = window()
    visitor, token = visitors.do_invite_visitor(
        resident,
        world.a.pk,
        name="王五",
        starts_at=start,
        ends_at=end,
        point_ids=[points["gate"].pk],
    )
    text = visitors.visitor_pass(visitor)
    visitors.do_cancel_visitor(resident, visitor)
    with pytest.raises(visitors.LinkRefused) as caught:
        visitors.visitor_pass(visitors.by_link(token))
    assert caught.value.code == "cancelled"
    assert decide(points["gate"], Presented("qr", text)).reason in (
        "credential_revoked",
        "visitor_cancelled",
    )
    with pytest.raises(errors.Conflict):
        visitors.do_cancel_visitor(resident, Visitor.objects.get(pk=visitor.pk))
    # A walk-in registered at the front desk, who then leaves.
    walk_in, _ = visitors.do_register_walk_in(
        system, world.a.pk, name="快递员", point_ids=[points["gate"].pk], hours=1
    )
    assert walk_in.walk_in and walk_in.status == VisitorStatus.ARRIVED
    visitors.do_visitor_left(system, walk_in)
    assert set(Credential.objects.filter(visitor=walk_in).values_list("status", flat=True)) == {
        CredentialStatus.REVOKED
    }
    # One whose window has passed is expired by the worker.
    late, _ = visitors.do_invite_visitor(
        resident,
        world.a.pk,
        name="赵六",
        starts_at=start,
        ends_at=end,
        point_ids=[points["gate"].pk],
    )
    assert visitors.expire_visitors(end + dt.timedelta(seconds=1)) == 1
    assert Visitor.objects.get(pk=late.pk).status == VisitorStatus.EXPIRED


def test_a_resident_cannot_cancel_someone_elses_visitor(
    world: World, system: Actor, resident: Actor, points: dict[str, AccessPoint]
) -> None:
    start, end = window()
    visitor, _ = visitors.do_invite_visitor(
        system,
        world.a.pk,
        name="陌生人",
        starts_at=start,
        ends_at=end,
        point_ids=[points["gate"].pk],
    )
    with pytest.raises(errors.NotFound):
        visitors.do_cancel_visitor(resident, visitor)


def test_unknown_links_are_refused(db: None) -> None:
    for token in ("", "x" * 100, "nope"):
        with pytest.raises(visitors.LinkRefused):
            visitors.by_link(token)
