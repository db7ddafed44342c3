"""The policy editor: policies, groups and schedules from the console, rights at once."""

from __future__ import annotations

from typing import Any

from linli.access.models import AccessPoint, AccessRight, Group, Policy, Schedule
from linli.core.tenancy import Actor
from linli.people.actions import do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


def test_create_a_group_a_schedule_and_a_policy_that_compiles_rights(
    world: World, system: Actor, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.utils import timezone

    building = do_generate_building(
        system, world.a, number="1", floors_above=1, units=1, rooms_per_floor=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        do_start_residency(
            system,
            world.person_a,
            Room.objects.get(unit__building=building),
            relation="owner",
            date_from=timezone.localdate(),
        )
    gate = AccessPoint.objects.create(community=world.a, code="gate", name="南门", kind="door")
    client = login(world.manager_a)
    assert client.get("/access/policies/").status_code == 200

    assert (
        client.post(
            "/access/groups/new/", {"name": "1幢住户", "kind": "residents", "building": building.pk}
        ).status_code
        == 302
    )
    group = Group.objects.get(name="1幢住户")

    bad = client.post(
        "/access/schedules/new/",
        {
            "name": "白天",
            "holiday_rule": "as_usual",
            "days_1": [1, 2],
            "start_1": "07:00",
            "end_1": "25:00",
        },
    )
    assert bad.status_code == 422 and 'id="id_end_1"' in bad.content.decode()
    assert "is-invalid" in bad.content.decode()
    ok = client.post(
        "/access/schedules/new/",
        {
            "name": "白天",
            "holiday_rule": "closed",
            "days_0": [1, 2, 3, 4, 5],
            "start_0": "07:00",
            "end_0": "22:00",
            "days_2": [6, 7],
            "start_2": "09:00",
            "end_2": "18:00",
        },
    )
    assert ok.status_code == 302
    schedule = Schedule.objects.get(name="白天")
    assert schedule.windows == [
        {"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"},
        {"days": [6, 7], "start": "09:00", "end": "18:00"},
    ]

    none_chosen = client.post(
        "/access/policies/new/", {"name": "x", "effect": "allow", "group": group.pk}
    )
    assert none_chosen.status_code == 422
    created = client.post(
        "/access/policies/new/",
        {
            "name": "1幢住户白天",
            "effect": "allow",
            "group": group.pk,
            "points": [gate.pk],
            "schedule": schedule.pk,
            "enabled": "on",
        },
    )
    assert created.status_code == 302
    policy = Policy.objects.get(name="1幢住户白天")
    assert AccessRight.objects.filter(policy=policy, person=world.person_a, point=gate).exists()
    listing = client.get("/access/policies/").content.decode()
    assert "1幢住户白天" in listing and "南门" in listing

    edit = client.post(
        f"/access/policies/{policy.pk}/edit/",
        {
            "name": "1幢住户白天",
            "effect": "allow",
            "group": group.pk,
            "points": [gate.pk],
            "schedule": schedule.pk,
        },  # enabled unchecked
    )
    assert edit.status_code == 302
    assert not AccessRight.objects.filter(policy=policy).exists()
    assert client.post(f"/access/policies/{policy.pk}/delete/").status_code == 302
    assert not Policy.objects.filter(pk=policy.pk).exists()


def test_the_editor_needs_access_manage_in_the_policys_community(
    world: World, system: Actor, login: Any
) -> None:
    group = Group.objects.create(community=world.a, name="住户", kind="residents")
    policy = Policy.objects.create(community=world.a, name="p", effect="allow", group=group)
    assert login(world.manager_b).get(f"/access/policies/{policy.pk}/edit/").status_code == 404
    assert login(world.guard_a).get("/access/policies/new/").status_code in (403, 404)
    assert login(world.guard_a).get("/access/policies/").status_code == 200  # may look


def test_holidays_and_tiaoxiu_days_from_the_policy_page(world: World, login: Any) -> None:
    from linli.access.models import Holiday

    client = login(world.manager_a)
    client.post("/access/holidays/new/", {"date": "2027-02-17", "kind": "holiday", "name": "春节"})
    client.post("/access/holidays/new/", {"date": "2027-02-07", "kind": "workday", "name": "调休"})
    assert sorted(Holiday.objects.values_list("community_id", "kind")) == [
        (world.a.pk, "holiday"),
        (world.a.pk, "workday"),
    ]
    page = client.get("/access/policies/").content.decode()
    assert "春节" in page and "2027-02-07" in page
    # Only a platform administrator may add one for every community.
    denied = client.post(
        "/access/holidays/new/",
        {"date": "2027-02-18", "kind": "holiday", "everywhere": "on"},
        follow=True,
    )
    assert not Holiday.objects.filter(community__isnull=True).exists()
    assert denied.status_code == 200
    again = client.post(
        "/access/holidays/new/", {"date": "2027-02-17", "kind": "holiday"}, follow=True
    )
    assert Holiday.objects.filter(date="2027-02-17").count() == 1 and again.status_code == 200
    holiday = Holiday.objects.get(date="2027-02-17")
    assert login(world.manager_b).post(f"/access/holidays/{holiday.pk}/delete/").status_code == 404
    client = login(world.manager_a)  # the same test client: sign back in as A's manager
    client.post(f"/access/holidays/{holiday.pk}/delete/")
    assert not Holiday.objects.filter(pk=holiday.pk).exists()


def test_a_named_lists_members_are_added_and_removed_on_its_page(
    world: World, system: Actor, login: Any
) -> None:
    from linli.access import manage

    gate = AccessPoint.objects.create(community=world.a, code="gate", name="南门", kind="door")
    client = login(world.manager_a)
    created = client.post("/access/groups/new/", {"name": "保洁名单", "kind": "list"})
    group = Group.objects.get(name="保洁名单")
    assert created.status_code == 302 and created["Location"] == f"/access/groups/{group.pk}/"
    manage.do_create_policy(
        system, world.a, name="保洁进南门", effect="allow", group_id=group.pk, point_ids=[gate.pk]
    )
    page = client.get(f"/access/groups/{group.pk}/").content.decode()
    assert "名单还是空的" in page and "保洁进南门" in page

    found = client.get(f"/access/groups/{group.pk}/", {"q": world.person_a.name[:1]}).content
    assert f'data-match="{world.person_a.pk}"' in found.decode()
    assert f'data-match="{world.person_b.pk}"' not in found.decode()  # another community
    added = client.post(
        f"/access/groups/{group.pk}/", {"action": "add", "person": world.person_a.pk}
    )
    assert added.status_code == 302
    assert list(group.members.values_list("pk", flat=True)) == [world.person_a.pk]
    assert AccessRight.objects.filter(person=world.person_a, point=gate).exists()
    page = client.get(f"/access/groups/{group.pk}/").content.decode()
    assert f'data-member="{world.person_a.pk}"' in page

    # Someone from another community is refused with the reason, and nothing changes.
    refused = client.post(
        f"/access/groups/{group.pk}/", {"action": "add", "person": world.person_b.pk}, follow=True
    )
    assert "不属于该社区" in refused.content.decode()
    assert list(group.members.values_list("pk", flat=True)) == [world.person_a.pk]

    client.post(f"/access/groups/{group.pk}/", {"action": "remove", "person": world.person_a.pk})
    assert not group.members.exists()
    assert not AccessRight.objects.filter(person=world.person_a, point=gate).exists()


def test_a_groups_page_is_for_its_community_and_changes_need_access_manage(
    world: World, system: Actor, login: Any
) -> None:
    from linli.access import manage

    group = manage.do_create_group(system, world.a, name="名单", kind="list")
    assert login(world.manager_b).get(f"/access/groups/{group.pk}/").status_code == 404
    guard = login(world.guard_a)
    assert guard.get(f"/access/groups/{group.pk}/").status_code == 200  # may look
    answer = guard.post(
        f"/access/groups/{group.pk}/", {"action": "add", "person": world.person_a.pk}
    )
    assert answer.status_code in (403, 404)
    assert not group.members.exists()
