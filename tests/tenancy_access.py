"""Cross-tenant cases for the access API; see test_tenancy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client

from linli.access import actions, manage
from linli.access.choices import CredentialStatus
from linli.access.decisions import Presented, decide
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessRight,
    Consent,
    Credential,
    Group,
    Holiday,
    Policy,
    Schedule,
)
from linli.core.tenancy import Actor
from linli.places.models import Community
from tests.conftest import World
from tests.tenancy_devices import make_device

Case = Callable[[Client, World, dict[str, object]], None]
HOLIDAY = dt.date(2026, 10, 1)
ALL_DAY = [{"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]


@dataclass
class Side:
    """One community's access configuration, a credential, a consent and a log entry."""

    point: AccessPoint
    schedule: Schedule
    group: Group
    policy: Policy
    holiday: Holiday
    credential: Credential
    consent: Consent


def _side(community: Community, person_id: int, code: str) -> Side:
    s = Actor.system("test")
    point = manage.do_create_access_point(s, community, code=code, name="大门", kind="door")
    schedule = manage.do_create_schedule(s, community, name="全天", windows=ALL_DAY)
    group = manage.do_create_group(s, community, name="名单", kind="list", member_ids=[person_id])
    policy = manage.do_create_policy(
        s,
        community,
        name="名单通行",
        effect="allow",
        group_id=group.pk,
        point_ids=[point.pk],
        schedule_id=schedule.pk,
    )
    holiday = manage.do_create_holiday(s, community.pk, date=HOLIDAY, kind="holiday", name="节")
    person = group.members.get()
    credential, _pin = actions.do_issue_credential(s, person, community.pk, kind="pin")
    consent = actions.do_record_consent(
        s, person, community.pk, modality="face", text_version="v1", channel="paper"
    )
    decide(point, Presented("pin", "000000"))
    return Side(point, schedule, group, policy, holiday, credential, consent)


def _b(w: World) -> Side:
    return _side(w.b, w.person_b.pk, "b-gate")


def _a(w: World) -> Side:
    return _side(w.a, w.person_a.pk, "a-gate")


def _send(c: Client, method: str, url: str, data: object) -> Any:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def _js(response: Any) -> Any:
    return json.loads(response.content)


def _404(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert json.loads(response.content)["code"] == "not_found"


def _422(response: Any, field: str) -> None:
    assert response.status_code == 422, response.content
    assert field in json.loads(response.content)["details"]


API = "/api/v1"


# Access points --------------------------------------------------------------------------


def case_list_points(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/communities/{w.b.pk}/access-points"))


def case_create_point(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"code": "x", "name": "x", "kind": "door"}
    _404(_send(c, "post", f"{API}/communities/{w.b.pk}/access-points", body))
    # Nor may A's point be served by B's terminal.
    b_device = make_device(Actor.system("test"), w.b, code="b-reader")
    url = f"{API}/communities/{w.a.pk}/access-points"
    _422(_send(c, "post", url, body | {"device_ids": [b_device.pk]}), "device_ids")
    assert not AccessPoint.objects.filter(code="x").exists()


def case_get_point(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"{API}/access-points/{_b(w).point.pk}"))


def case_update_point(c: Client, w: World, b: dict[str, object]) -> None:
    point = _b(w).point
    _404(_send(c, "patch", f"{API}/access-points/{point.pk}", {"name": "hijacked"}))
    assert AccessPoint.objects.get(pk=point.pk).name == "大门"
    # A's own point cannot take B's terminal either.
    a_point = _a(w).point
    b_device = make_device(Actor.system("test"), w.b, code="b-reader")
    url = f"{API}/access-points/{a_point.pk}"
    _422(_send(c, "patch", url, {"device_ids": [b_device.pk]}), "device_ids")
    assert not a_point.devices.exists()


def case_delete_point(c: Client, w: World, b: dict[str, object]) -> None:
    point = _b(w).point
    _404(c.delete(f"{API}/access-points/{point.pk}"))
    assert AccessPoint.objects.filter(pk=point.pk).exists()


def case_who_may_open(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"{API}/access-points/{_b(w).point.pk}/who-may-open"))


def case_doors(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/people/{w.person_b.pk}/doors?community_id={w.b.pk}"))
    _404(c.get(f"{API}/people/{w.person_b.pk}/doors?community_id={w.a.pk}"))


# Schedules ------------------------------------------------------------------------------


def case_list_schedules(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/communities/{w.b.pk}/access-schedules"))


def case_create_schedule(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"name": "x", "windows": ALL_DAY}
    _404(_send(c, "post", f"{API}/communities/{w.b.pk}/access-schedules", body))
    assert not Schedule.objects.exists()


def case_get_schedule(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"{API}/access-schedules/{_b(w).schedule.pk}"))


def case_update_schedule(c: Client, w: World, b: dict[str, object]) -> None:
    schedule = _b(w).schedule
    _404(_send(c, "patch", f"{API}/access-schedules/{schedule.pk}", {"name": "hijacked"}))
    assert Schedule.objects.get(pk=schedule.pk).name == "全天"


def case_delete_schedule(c: Client, w: World, b: dict[str, object]) -> None:
    side = _b(w)
    manage.do_delete_policy(Actor.system("test"), side.policy)  # not in use: only tenancy stops it
    _404(c.delete(f"{API}/access-schedules/{side.schedule.pk}"))
    assert Schedule.objects.filter(pk=side.schedule.pk).exists()


# Holidays -------------------------------------------------------------------------------


def case_list_holidays(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/communities/{w.b.pk}/holidays"))
    assert _js(c.get(f"{API}/communities/{w.a.pk}/holidays"))["items"] == []


def case_create_holiday(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"date": "2026-10-02", "kind": "holiday"}
    _404(_send(c, "post", f"{API}/communities/{w.b.pk}/holidays", body))
    assert not Holiday.objects.exists()


def case_create_shared_holiday(c: Client, w: World, b: dict[str, object]) -> None:
    # A day off for every community is not one community's manager's to give.
    response = _send(c, "post", f"{API}/holidays", {"date": "2026-10-02", "kind": "holiday"})
    assert response.status_code == 403, response.content
    assert not Holiday.objects.exists()


def case_update_holiday(c: Client, w: World, b: dict[str, object]) -> None:
    holiday = _b(w).holiday
    _404(_send(c, "patch", f"{API}/holidays/{holiday.pk}", {"kind": "workday"}))
    assert Holiday.objects.get(pk=holiday.pk).kind == "holiday"
    shared = manage.do_create_holiday(
        Actor.system("test"), None, date=holiday.date.replace(day=2), kind="holiday"
    )
    response = _send(c, "patch", f"{API}/holidays/{shared.pk}", {"kind": "workday"})
    assert response.status_code == 403, response.content
    assert Holiday.objects.get(pk=shared.pk).kind == "holiday"


def case_delete_holiday(c: Client, w: World, b: dict[str, object]) -> None:
    holiday = _b(w).holiday
    _404(c.delete(f"{API}/holidays/{holiday.pk}"))
    assert Holiday.objects.filter(pk=holiday.pk).exists()


# Groups ---------------------------------------------------------------------------------


def case_list_groups(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/communities/{w.b.pk}/access-groups"))


def case_create_group(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"name": "x", "kind": "list", "member_ids": [w.person_b.pk]}
    _404(_send(c, "post", f"{API}/communities/{w.b.pk}/access-groups", body))
    # B's resident cannot be put on A's list.
    _422(_send(c, "post", f"{API}/communities/{w.a.pk}/access-groups", body), "member_ids")
    assert not Group.objects.exists()


def case_get_group(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"{API}/access-groups/{_b(w).group.pk}"))


def case_update_group(c: Client, w: World, b: dict[str, object]) -> None:
    group = _b(w).group
    _404(_send(c, "patch", f"{API}/access-groups/{group.pk}", {"member_ids": []}))
    assert list(Group.objects.get(pk=group.pk).members.all()) == [w.person_b]
    assert AccessRight.objects.filter(community=w.b).count() == 1


def case_delete_group(c: Client, w: World, b: dict[str, object]) -> None:
    side = _b(w)
    manage.do_delete_policy(Actor.system("test"), side.policy)
    _404(c.delete(f"{API}/access-groups/{side.group.pk}"))
    assert Group.objects.filter(pk=side.group.pk).exists()


# Policies -------------------------------------------------------------------------------


def case_list_policies(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/communities/{w.b.pk}/access-policies"))


def case_create_policy(c: Client, w: World, b: dict[str, object]) -> None:
    side = _b(w)
    body = {"name": "x", "effect": "allow", "group_id": side.group.pk, "all_points": True}
    _404(_send(c, "post", f"{API}/communities/{w.b.pk}/access-policies", body))
    # A's policy cannot name B's group, points or schedule.
    a = _a(w)
    url = f"{API}/communities/{w.a.pk}/access-policies"
    _422(_send(c, "post", url, body), "group_id")
    mine = {"name": "x", "effect": "allow", "group_id": a.group.pk}
    _422(_send(c, "post", url, mine | {"point_ids": [side.point.pk]}), "point_ids")
    with_b_schedule = mine | {"all_points": True, "schedule_id": side.schedule.pk}
    _422(_send(c, "post", url, with_b_schedule), "schedule_id")
    assert Policy.objects.count() == 2


def case_get_policy(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"{API}/access-policies/{_b(w).policy.pk}"))


def case_update_policy(c: Client, w: World, b: dict[str, object]) -> None:
    policy = _b(w).policy
    _404(_send(c, "patch", f"{API}/access-policies/{policy.pk}", {"effect": "deny"}))
    assert Policy.objects.get(pk=policy.pk).effect == "allow"
    # Nor can A's policy be pointed at B's group.
    a_policy = _a(w).policy
    url = f"{API}/access-policies/{a_policy.pk}"
    _422(_send(c, "patch", url, {"group_id": policy.group_id}), "group_id")
    assert Policy.objects.get(pk=a_policy.pk).group_id != policy.group_id


def case_delete_policy(c: Client, w: World, b: dict[str, object]) -> None:
    policy = _b(w).policy
    _404(c.delete(f"{API}/access-policies/{policy.pk}"))
    assert Policy.objects.filter(pk=policy.pk).exists()
    assert AccessRight.objects.filter(policy=policy).exists()


# Credentials and consent ----------------------------------------------------------------


def case_list_credentials(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/people/{w.person_b.pk}/credentials?community_id={w.b.pk}"))
    _404(c.get(f"{API}/people/{w.person_b.pk}/credentials?community_id={w.a.pk}"))


def case_issue_credential(c: Client, w: World, b: dict[str, object]) -> None:
    url = f"{API}/people/{w.person_b.pk}/credentials"
    _404(_send(c, "post", url, {"community_id": w.b.pk, "kind": "pin"}))
    _404(_send(c, "post", url, {"community_id": w.a.pk, "kind": "pin"}))
    assert not Credential.objects.exists()


def case_credential_status(c: Client, w: World, b: dict[str, object]) -> None:
    credential = _b(w).credential
    url = f"{API}/credentials/{credential.pk}/status"
    _404(_send(c, "post", url, {"action": "revoke"}))
    assert Credential.objects.get(pk=credential.pk).status == CredentialStatus.ACTIVE


def case_list_consents(c: Client, w: World, b: dict[str, object]) -> None:
    _b(w)
    _404(c.get(f"{API}/people/{w.person_b.pk}/consents?community_id={w.b.pk}"))
    _404(c.get(f"{API}/people/{w.person_b.pk}/consents?community_id={w.a.pk}"))


def case_record_consent(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"modality": "voice", "text_version": "v1", "channel": "paper"}
    url = f"{API}/people/{w.person_b.pk}/consents"
    _404(_send(c, "post", url, body | {"community_id": w.b.pk}))
    _404(_send(c, "post", url, body | {"community_id": w.a.pk}))
    assert not Consent.objects.exists()


def case_revoke_consent(c: Client, w: World, b: dict[str, object]) -> None:
    consent = _b(w).consent
    _404(c.post(f"{API}/consents/{consent.pk}/revoke"))
    assert Consent.objects.get(pk=consent.pk).revoked_at is None


# The access log and the resident's pass -------------------------------------------------


def case_access_events(c: Client, w: World, b: dict[str, object]) -> None:
    _a(w)
    _b(w)
    assert AccessEvent.objects.filter(community=w.b).exists()
    items = _js(c.get(f"{API}/access-events"))["items"]
    assert items
    assert {i["community_id"] for i in items} == {w.a.pk}
    assert _js(c.get(f"{API}/access-events?community_id={w.b.pk}"))["items"] == []
    point = AccessPoint.objects.get(community=w.b)
    assert _js(c.get(f"{API}/access-events?point_id={point.pk}"))["items"] == []
    assert _js(c.get(f"{API}/access-events?person_id={w.person_b.pk}"))["items"] == []


def case_my_pass(c: Client, w: World, b: dict[str, object]) -> None:
    # A's manager is no resident: no pass here, and none of B's residents' either.
    _b(w)
    assert c.get(f"{API}/me/pass").status_code == 403
    assert c.get(f"{API}/me/pass?community_id={w.b.pk}").status_code == 403


ACCESS_CASES: dict[tuple[str, str], Case] = {
    ("get", "/api/v1/communities/{community_id}/access-points"): case_list_points,
    ("post", "/api/v1/communities/{community_id}/access-points"): case_create_point,
    ("get", "/api/v1/access-points/{point_id}"): case_get_point,
    ("patch", "/api/v1/access-points/{point_id}"): case_update_point,
    ("delete", "/api/v1/access-points/{point_id}"): case_delete_point,
    ("get", "/api/v1/access-points/{point_id}/who-may-open"): case_who_may_open,
    ("get", "/api/v1/people/{person_id}/doors"): case_doors,
    ("get", "/api/v1/communities/{community_id}/access-schedules"): case_list_schedules,
    ("post", "/api/v1/communities/{community_id}/access-schedules"): case_create_schedule,
    ("get", "/api/v1/access-schedules/{schedule_id}"): case_get_schedule,
    ("patch", "/api/v1/access-schedules/{schedule_id}"): case_update_schedule,
    ("delete", "/api/v1/access-schedules/{schedule_id}"): case_delete_schedule,
    ("get", "/api/v1/communities/{community_id}/holidays"): case_list_holidays,
    ("post", "/api/v1/communities/{community_id}/holidays"): case_create_holiday,
    ("post", "/api/v1/holidays"): case_create_shared_holiday,
    ("patch", "/api/v1/holidays/{holiday_id}"): case_update_holiday,
    ("delete", "/api/v1/holidays/{holiday_id}"): case_delete_holiday,
    ("get", "/api/v1/communities/{community_id}/access-groups"): case_list_groups,
    ("post", "/api/v1/communities/{community_id}/access-groups"): case_create_group,
    ("get", "/api/v1/access-groups/{group_id}"): case_get_group,
    ("patch", "/api/v1/access-groups/{group_id}"): case_update_group,
    ("delete", "/api/v1/access-groups/{group_id}"): case_delete_group,
    ("get", "/api/v1/communities/{community_id}/access-policies"): case_list_policies,
    ("post", "/api/v1/communities/{community_id}/access-policies"): case_create_policy,
    ("get", "/api/v1/access-policies/{policy_id}"): case_get_policy,
    ("patch", "/api/v1/access-policies/{policy_id}"): case_update_policy,
    ("delete", "/api/v1/access-policies/{policy_id}"): case_delete_policy,
    ("get", "/api/v1/people/{person_id}/credentials"): case_list_credentials,
    ("post", "/api/v1/people/{person_id}/credentials"): case_issue_credential,
    ("post", "/api/v1/credentials/{credential_id}/status"): case_credential_status,
    ("get", "/api/v1/people/{person_id}/consents"): case_list_consents,
    ("post", "/api/v1/people/{person_id}/consents"): case_record_consent,
    ("post", "/api/v1/consents/{consent_id}/revoke"): case_revoke_consent,
    ("get", "/api/v1/access-events"): case_access_events,
    ("get", "/api/v1/me/pass"): case_my_pass,
}
