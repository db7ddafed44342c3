"""The access API: configuration with per-field errors and conflicts, rights recompiled in
the same request, credentials without secrets, consent, the access log and the resident's
pass; every write audited."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.access import manage, passes
from linli.access.choices import CredentialStatus
from linli.access.decisions import Presented, decide
from linli.access.models import AccessPoint, AccessRight, AllowlistChange, Credential, Group
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_open_resident_account, do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Building, Room
from tests.conftest import PASSWORD, World
from tests.tenancy_devices import make_device

API = "/api/v1"
DAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return json.loads(response.content) if response.content else None


def _send(c: Client, method: str, url: str, data: object) -> Any:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def _details(response: Any, status: int = 422) -> dict[str, list[str]]:
    body = _json(response, status)
    return body["details"]  # type: ignore[no-any-return]


def _building(system: Actor, world: World, number: str = "1") -> Building:
    return do_generate_building(
        system, world.a, number=number, floors_above=2, units=1, rooms_per_floor=2
    )


def _resident(system: Actor, world: World, building: Building) -> None:
    room = Room.objects.filter(unit__building=building).order_by("number").first()
    assert room is not None
    do_start_residency(
        system, world.person_a, room, relation="owner", date_from=timezone.localdate()
    )


def _point(c: Client, world: World, code: str, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "name": f"门 {code}", "kind": "door"} | extra
    return _json(_send(c, "post", f"{API}/communities/{world.a.pk}/access-points", body), 201)  # type: ignore[no-any-return]


def _who(c: Client, point_id: int) -> list[str]:
    return [
        p["name"] for p in _json(c.get(f"{API}/access-points/{point_id}/who-may-open"))["items"]
    ]


@pytest.fixture
def manager(world: World, token_client) -> Client:  # type: ignore[no-untyped-def]
    return token_client(world.manager_a)  # type: ignore[no-any-return]


# Access points --------------------------------------------------------------------------


def test_access_points_are_created_with_terminals_changed_and_deleted_with_audit(
    world: World, system: Actor, manager: Client
) -> None:
    building = _building(system, world)
    device = make_device(system, world.a, code="door-1")
    point = _point(
        manager,
        world,
        "b1",
        kind="building_entrance",
        building_id=building.pk,
        device_ids=[device.pk],
    )
    assert point["device_ids"] == [device.pk]
    assert point["building_id"] == building.pk
    listed = _json(
        manager.get(f"{API}/communities/{world.a.pk}/access-points?kind=building_entrance")
    )
    assert [p["code"] for p in listed["items"]] == ["b1"]
    url = f"{API}/access-points/{point['id']}"
    changed = _json(_send(manager, "patch", url, {"name": "1幢入口", "device_ids": []}))
    assert (changed["name"], changed["device_ids"]) == ("1幢入口", [])
    update = AuditLog.objects.get(action="access.point.update")
    assert update.changes["name"][1] == "1幢入口"
    assert update.changes["devices"] == [[device.pk], []]
    assert _json(manager.delete(url), 204) is None
    assert not AccessPoint.objects.filter(pk=point["id"]).exists()
    assert AuditLog.objects.filter(action="access.point.create", community_id=world.a.pk).exists()
    assert AuditLog.objects.filter(
        action="access.point.delete", object_id=str(point["id"])
    ).exists()
    _json(manager.get(url), 404)


def test_a_duplicate_code_conflicts_and_foreign_places_or_terminals_are_refused_by_field(
    world: World, system: Actor, manager: Client
) -> None:
    _point(manager, world, "gate")
    url = f"{API}/communities/{world.a.pk}/access-points"
    again = _send(manager, "post", url, {"code": "gate", "name": "又一个", "kind": "door"})
    body = _json(again, 409)
    assert body["code"] == "duplicate_point_code"
    assert body["details"] == {"code": ["gate"]}
    b_building = do_generate_building(
        system, world.b, number="9", floors_above=1, units=1, rooms_per_floor=1
    )
    b_device = make_device(system, world.b, code="b-door")
    base = {"code": "x", "name": "x", "kind": "door"}
    assert "building_id" in _details(
        _send(manager, "post", url, base | {"building_id": b_building.pk})
    )
    assert "device_ids" in _details(
        _send(manager, "post", url, base | {"device_ids": [b_device.pk]})
    )
    assert not AccessPoint.objects.filter(code="x").exists()
    # The schema refuses a malformed code before anything runs.
    assert (
        _json(_send(manager, "post", url, base | {"code": "有 空格"}), 422)["code"]
        == "validation_error"
    )
    point = AccessPoint.objects.get(code="gate")
    renamed = _send(manager, "patch", f"{API}/access-points/{point.pk}", {"code": "gate"})
    assert _json(renamed)["code"] == "gate"  # its own code is not a clash
    _point(manager, world, "other")
    clash = _send(manager, "patch", f"{API}/access-points/{point.pk}", {"code": "other"})
    assert _json(clash, 409)["code"] == "duplicate_point_code"


# Schedules ------------------------------------------------------------------------------


def test_schedule_errors_name_the_window_and_field(world: World, manager: Client) -> None:
    url = f"{API}/communities/{world.a.pk}/access-schedules"
    bad_end = {"name": "白天", "windows": [{"days": [1], "start": "08:00", "end": "25:00"}]}
    details = _details(_send(manager, "post", url, bad_end))
    assert list(details) == ["windows[0].end"]
    bad_days = {"name": "白天", "windows": [DAYS, {"days": [8], "start": "08:00", "end": "09:00"}]}
    assert list(_details(_send(manager, "post", url, bad_days))) == ["windows[1].days"]
    dates = {"name": "暑期", "windows": [DAYS], "date_from": "2026-09-01", "date_to": "2026-07-01"}
    assert list(_details(_send(manager, "post", url, dates))) == ["date_to"]
    no_holiday_windows = {"name": "x", "windows": [DAYS], "holiday_rule": "holiday_windows"}
    assert list(_details(_send(manager, "post", url, no_holiday_windows))) == ["holiday_windows"]
    good = {
        "name": "白天",
        "windows": [{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}],
    }
    schedule = _json(_send(manager, "post", url, good), 201)
    patch = _send(
        manager,
        "patch",
        f"{API}/access-schedules/{schedule['id']}",
        {"date_to": "2020-01-01", "date_from": "2021-01-01"},
    )
    assert list(_details(patch)) == ["date_to"]
    night = [{"days": [5], "start": "22:00", "end": "06:00"}]
    changed = _json(
        _send(manager, "patch", f"{API}/access-schedules/{schedule['id']}", {"windows": night})
    )
    assert changed["windows"] == night
    row = AuditLog.objects.get(action="access.schedule.update")
    assert row.changes["windows"][1] == night


# Groups ---------------------------------------------------------------------------------


def test_group_rules_by_kind_are_checked_per_field(
    world: World, system: Actor, manager: Client
) -> None:
    url = f"{API}/communities/{world.a.pk}/access-groups"
    building = _building(system, world)
    b_building = do_generate_building(
        system, world.b, number="9", floors_above=1, units=1, rooms_per_floor=1
    )

    def refused(body: dict[str, Any]) -> list[str]:
        return sorted(_details(_send(manager, "post", url, {"name": "组"} | body)))

    assert refused({"kind": "residents", "roles": ["security_guard"]}) == ["roles"]
    assert refused({"kind": "staff", "roles": ["security_guard"], "building_id": building.pk}) == [
        "building_id"
    ]
    assert refused({"kind": "staff", "roles": ["astronaut"]}) == ["roles"]
    assert refused({"kind": "staff", "roles": ["resident"]}) == ["roles"]
    assert refused({"kind": "staff"}) == ["roles"]
    assert refused({"kind": "residents", "member_ids": [world.person_a.pk]}) == ["member_ids"]
    assert refused({"kind": "list", "member_ids": [world.person_b.pk]}) == ["member_ids"]
    assert refused({"kind": "residents", "building_id": b_building.pk}) == ["building_id"]
    assert not Group.objects.exists()
    made = _json(
        _send(manager, "post", url, {"name": "保安", "kind": "staff", "roles": ["security_guard"]}),
        201,
    )
    assert made["roles"] == ["security_guard"]
    listed = _json(
        _send(
            manager,
            "post",
            url,
            {"name": "名单", "kind": "list", "member_ids": [world.person_a.pk]},
        ),
        201,
    )
    assert listed["member_ids"] == [world.person_a.pk]
    assert AuditLog.objects.filter(action="access.group.create").count() == 2


# Policies and compiled rights -----------------------------------------------------------


def test_policies_compile_at_once_and_follow_group_and_point_changes(
    world: World, system: Actor, manager: Client, django_capture_on_commit_callbacks: Any
) -> None:
    building = _building(system, world)
    with django_capture_on_commit_callbacks(execute=True):
        _resident(system, world, building)
    gate = _point(manager, world, "gate", kind="community_gate")
    residents = _json(
        _send(
            manager,
            "post",
            f"{API}/communities/{world.a.pk}/access-groups",
            {"name": "1幢住户", "kind": "residents", "building_id": building.pk},
        ),
        201,
    )
    policies = f"{API}/communities/{world.a.pk}/access-policies"
    body = {
        "name": "住户通行",
        "effect": "allow",
        "group_id": residents["id"],
        "point_ids": [gate["id"]],
    }
    policy = _json(_send(manager, "post", policies, body), 201)
    assert policy["point_ids"] == [gate["id"]]
    assert _who(manager, gate["id"]) == ["王芳"]
    doors = _json(manager.get(f"{API}/people/{world.person_a.pk}/doors?community_id={world.a.pk}"))
    assert [d["code"] for d in doors] == ["gate"]
    assert AuditLog.objects.get(action="access.policy.create").changes["rights"] == [None, 1]

    # The group now names another building: the resident loses the gate in the same request.
    other = _building(system, world, "2")
    group_url = f"{API}/access-groups/{residents['id']}"
    _json(_send(manager, "patch", group_url, {"building_id": other.pk}))
    assert _who(manager, gate["id"]) == []
    _json(_send(manager, "patch", group_url, {"kind": "list", "member_ids": [world.person_a.pk]}))
    assert _who(manager, gate["id"]) == ["王芳"]

    # A policy over every point covers a point added later.
    _json(_send(manager, "patch", f"{API}/access-policies/{policy['id']}", {"all_points": True}))
    lift = _point(manager, world, "lift", kind="elevator")
    assert _who(manager, lift["id"]) == ["王芳"]
    assert AccessRight.objects.filter(point_id=lift["id"], person=world.person_a).exists()

    # A deny wins; disabling the policy takes the rights away.
    deny = {
        "name": "禁止",
        "effect": "deny",
        "group_id": residents["id"],
        "point_ids": [lift["id"]],
    }
    deny_policy = _json(_send(manager, "post", policies, deny), 201)
    assert _who(manager, lift["id"]) == []
    assert _json(manager.delete(f"{API}/access-policies/{deny_policy['id']}"), 204) is None
    assert _who(manager, lift["id"]) == ["王芳"]
    _json(_send(manager, "patch", f"{API}/access-policies/{policy['id']}", {"enabled": False}))
    assert _who(manager, gate["id"]) == []
    assert not AccessRight.objects.filter(policy_id=policy["id"]).exists()

    # A group or schedule still in use cannot be deleted.
    in_use = _json(manager.delete(group_url), 409)
    assert in_use["code"] == "in_use"
    schedule = _json(
        _send(
            manager,
            "post",
            f"{API}/communities/{world.a.pk}/access-schedules",
            {"name": "全天", "windows": [DAYS]},
        ),
        201,
    )
    _json(
        _send(
            manager,
            "patch",
            f"{API}/access-policies/{policy['id']}",
            {"schedule_id": schedule["id"]},
        )
    )
    assert (
        _json(manager.delete(f"{API}/access-schedules/{schedule['id']}"), 409)["code"] == "in_use"
    )
    assert _json(manager.delete(f"{API}/access-policies/{policy['id']}"), 204) is None
    assert _json(manager.delete(f"{API}/access-schedules/{schedule['id']}"), 204) is None
    assert _json(manager.delete(group_url), 204) is None


def test_policy_relations_and_validity_are_checked_per_field(
    world: World, system: Actor, manager: Client
) -> None:
    b_group = Group.objects.create(community=world.b, name="B", kind="residents")
    b_point = AccessPoint.objects.create(community=world.b, code="bg", name="B", kind="door")
    group = _json(
        _send(
            manager,
            "post",
            f"{API}/communities/{world.a.pk}/access-groups",
            {"name": "住户", "kind": "residents"},
        ),
        201,
    )
    gate = _point(manager, world, "gate")
    url = f"{API}/communities/{world.a.pk}/access-policies"
    base = {"name": "p", "effect": "allow", "group_id": group["id"], "point_ids": [gate["id"]]}
    assert list(_details(_send(manager, "post", url, base | {"group_id": b_group.pk}))) == [
        "group_id"
    ]
    assert list(_details(_send(manager, "post", url, base | {"point_ids": [b_point.pk]}))) == [
        "point_ids"
    ]
    assert list(_details(_send(manager, "post", url, base | {"point_ids": []}))) == ["point_ids"]
    window = {"valid_from": "2026-05-01T00:00:00+08:00", "valid_until": "2026-04-01T00:00:00+08:00"}
    assert list(_details(_send(manager, "post", url, base | window))) == ["valid_until"]
    assert not AuditLog.objects.filter(action="access.policy.create").exists()


# Holidays -------------------------------------------------------------------------------


def test_holidays_per_community_for_managers_and_shared_ones_for_platform_admins(
    world: World, manager: Client, token_client
) -> None:  # type: ignore[no-untyped-def]
    own = _json(
        _send(
            manager,
            "post",
            f"{API}/communities/{world.a.pk}/holidays",
            {"date": "2026-10-01", "kind": "holiday", "name": "国庆"},
        ),
        201,
    )
    assert own["community_id"] == world.a.pk
    again = _send(
        manager,
        "post",
        f"{API}/communities/{world.a.pk}/holidays",
        {"date": "2026-10-01", "kind": "workday"},
    )
    assert _json(again, 409)["code"] == "duplicate_holiday"
    shared = {"date": "2026-10-02", "kind": "holiday", "name": "国庆"}
    assert (
        _json(_send(manager, "post", f"{API}/holidays", shared), 403)["code"] == "permission_denied"
    )
    admin = token_client(world.admin)
    made = _json(_send(admin, "post", f"{API}/holidays", shared), 201)
    assert made["community_id"] is None
    days = _json(manager.get(f"{API}/communities/{world.a.pk}/holidays"))["items"]
    assert [d["date"] for d in days] == ["2026-10-01", "2026-10-02"]
    assert _json(manager.delete(f"{API}/holidays/{made['id']}"), 403)["code"] == "permission_denied"
    assert (
        _json(_send(manager, "patch", f"{API}/holidays/{own['id']}", {"kind": "workday"}))["kind"]
        == "workday"
    )
    assert _json(admin.delete(f"{API}/holidays/{made['id']}"), 204) is None
    assert AuditLog.objects.filter(action__startswith="access.holiday.").count() == 4


# Credentials and consent ----------------------------------------------------------------


def test_credentials_show_a_generated_pin_once_and_never_a_secret(
    world: World, manager: Client
) -> None:
    url = f"{API}/people/{world.person_a.pk}/credentials"
    issued = _json(_send(manager, "post", url, {"community_id": world.a.pk, "kind": "pin"}), 201)
    pin = issued["pin"]
    assert pin is not None and pin.isdigit() and len(pin) == 6
    card = _json(
        _send(
            manager,
            "post",
            url,
            {"community_id": world.a.pk, "kind": "card", "value": "04a1b2c3d4"},
        ),
        201,
    )
    assert card["pin"] is None
    assert card["credential"]["masked"] == "****C3D4"
    listing = manager.get(f"{url}?community_id={world.a.pk}")
    text = listing.content.decode()
    kinds = sorted(c["kind"] for c in _json(listing))
    assert kinds == ["card", "pin", "qr"]  # the 一码通 comes with the first credential
    for stored in Credential.objects.filter(person=world.person_a):
        for secret in (stored.lookup_hash, stored.secret_sealed):
            if secret:
                assert secret not in text
    for leak in (pin, "04A1B2C3D4", "lookup_hash", "secret_sealed"):
        assert leak not in text
    chosen = _send(manager, "post", url, {"community_id": world.a.pk, "kind": "pin", "value": "12"})
    assert list(_details(chosen)) == ["value"]
    # Suspend and resume; resuming twice is a conflict.
    status_url = f"{API}/credentials/{card['credential']['id']}/status"
    assert (
        _json(_send(manager, "post", status_url, {"action": "suspend", "reason": "丢失"}))["status"]
        == "suspended"
    )
    assert _json(_send(manager, "post", status_url, {"action": "resume"}))["status"] == "active"
    assert (
        _json(_send(manager, "post", status_url, {"action": "resume"}), 409)["code"]
        == "invalid_transition"
    )
    assert (
        _json(_send(manager, "post", status_url, {"action": "destroy"}), 422)["code"]
        == "validation_error"
    )
    actions = set(
        AuditLog.objects.filter(action__startswith="access.credential.").values_list(
            "action", flat=True
        )
    )
    assert actions == {
        "access.credential.issue",
        "access.credential.suspend",
        "access.credential.resume",
    }
    assert pin not in manager.get(f"{API}/audit").content.decode()


def test_consent_allows_a_face_credential_and_revoking_it_revokes_the_credential(
    world: World, manager: Client
) -> None:
    person = world.person_a.pk
    face = {"community_id": world.a.pk, "kind": "face"}
    cred_url = f"{API}/people/{person}/credentials"
    assert _json(_send(manager, "post", cred_url, face), 409)["code"] == "no_consent"
    body = {
        "community_id": world.a.pk,
        "modality": "face",
        "text_version": "v1",
        "channel": "front_desk",
    }
    consent = _json(_send(manager, "post", f"{API}/people/{person}/consents", body), 201)
    assert (
        _json(_send(manager, "post", f"{API}/people/{person}/consents", body), 409)["code"]
        == "consent_exists"
    )
    credential = _json(_send(manager, "post", cred_url, face), 201)["credential"]
    assert credential["consent_id"] == consent["id"]
    listed = _json(manager.get(f"{API}/people/{person}/consents?community_id={world.a.pk}"))
    assert [c["id"] for c in listed] == [consent["id"]]
    revoked = _json(manager.post(f"{API}/consents/{consent['id']}/revoke"))
    assert revoked["revoked_at"] is not None
    assert Credential.objects.get(pk=credential["id"]).status == CredentialStatus.REVOKED


def test_a_guard_sees_credentials_only_with_credential_view(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    guard = token_client(world.guard_a)
    url = f"{API}/people/{world.person_a.pk}/credentials?community_id={world.a.pk}"
    assert _json(guard.get(url), 403)["code"] == "permission_denied"
    assert (
        _json(
            _send(
                guard,
                "post",
                f"{API}/communities/{world.a.pk}/access-points",
                {"code": "g", "name": "g", "kind": "door"},
            ),
            403,
        )["code"]
        == "permission_denied"
    )


# The access log and the resident's pass -------------------------------------------------


def test_the_access_log_filters_and_lists_newest_first(
    world: World, system: Actor, manager: Client
) -> None:
    gate = AccessPoint.objects.create(community=world.a, code="gate", name="南门", kind="door")
    side = AccessPoint.objects.create(community=world.a, code="side", name="侧门", kind="door")
    decide(gate, Presented("card", "DEADBEEF"))
    decide(side, Presented("card", "DEADBEEF"))
    decide(gate, Presented("qr", "nonsense"))
    items = _json(manager.get(f"{API}/access-events?community_id={world.a.pk}"))["items"]
    assert [i["point_name"] for i in items] == ["南门", "侧门", "南门"]
    assert items[0]["reason"] == "pass_malformed"
    assert {i["result"] for i in items} == {"deny"}
    only_gate = _json(manager.get(f"{API}/access-events?point_id={gate.pk}&result=deny"))
    assert only_gate["count"] == 2
    future = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert _json(manager.get(f"{API}/access-events", {"since": future}))["count"] == 0
    assert _json(manager.get(f"{API}/access-events", {"until": future}))["count"] == 3
    assert _json(manager.get(f"{API}/access-events?result=allow"))["count"] == 0


def test_a_resident_gets_a_fresh_pass_that_opens_their_door(
    world: World, system: Actor, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    building = _building(system, world)
    with django_capture_on_commit_callbacks(execute=True):
        _resident(system, world, building)
    do_open_resident_account(
        system, world.person_a, world.a, username="wangfang", password=PASSWORD
    )
    point = manage.do_create_access_point(
        system, world.a, code="gate", name="南门", kind="community_gate"
    )
    group = manage.do_create_group(system, world.a, name="住户", kind="residents")
    manage.do_create_policy(
        system, world.a, name="住户", effect="allow", group_id=group.pk, all_points=True
    )
    assert client.login(username="wangfang", password=PASSWORD)
    response = client.get(f"{API}/me/pass")
    body = _json(response)
    assert response["Cache-Control"] == "no-store"
    claims, _b, _s = passes.read(body["text"])
    assert dt.datetime.fromisoformat(body["expires_at"]).timestamp() == claims.expires_at
    assert body["community_id"] == world.a.pk
    assert decide(point, Presented("qr", body["text"])).reason == "allowed"
    assert _json(client.get(f"{API}/me/pass?community_id={world.b.pk}"), 404)["code"] == "not_found"


def test_staff_without_a_resident_role_have_no_pass(world: World, manager: Client) -> None:
    assert _json(manager.get(f"{API}/me/pass"), 403)["code"] == "permission_denied"


def test_configuration_changes_tell_terminals(world: World, system: Actor, manager: Client) -> None:
    building = _building(system, world)
    _resident(system, world, building)
    gate = _point(manager, world, "gate")
    group = _json(
        _send(
            manager,
            "post",
            f"{API}/communities/{world.a.pk}/access-groups",
            {"name": "住户", "kind": "residents"},
        ),
        201,
    )
    body = {"name": "p", "effect": "allow", "group_id": group["id"], "point_ids": [gate["id"]]}
    _json(_send(manager, "post", f"{API}/communities/{world.a.pk}/access-policies", body), 201)
    last = AllowlistChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    device = make_device(system, world.a, code="reader")
    url = f"{API}/access-points/{gate['id']}"
    _json(_send(manager, "patch", url, {"device_ids": [device.pk]}))
    # The new terminal's incremental sync brings the people allowed at its point.
    changed = AllowlistChange.objects.filter(pk__gt=last).values_list("person_id", flat=True)
    assert list(changed) == [world.person_a.pk]
