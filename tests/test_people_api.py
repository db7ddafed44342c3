"""The people API: each bad input gets its own error code, tags stay with the roles that may
see them, and sealed values never leave the server."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from stdnum.cn import ric

from linli.core.choices import Role
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people import actions
from linli.people.choices import ChangeKind, Kinship
from linli.people.models import (
    CareRecord,
    Household,
    Membership,
    Person,
    PersonPhoto,
    PopulationChange,
    Residency,
    Tenancy,
    Vehicle,
)
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import World, make_user

JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 200
DAY = "2026-03-01"


def rid(n: int) -> str:
    body = f"1101051980{1 + n // 28:02d}{1 + n % 28:02d}00{n % 10}"
    return body + ric.calc_check_digit(body + "0")


def send(c: Client, method: str, url: str, data: object = None) -> Any:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def body(response: Any) -> Any:
    return json.loads(response.content)


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    out: dict[str, Any] = body(response)
    assert out["code"] == code and out["message"]
    return out


def room_in(system: Actor, community: object, number: str = "1") -> Room:
    building = do_create_building(system, community, number=number, floors_above=6)  # type: ignore[arg-type]
    unit = do_create_unit(system, building, number="1")
    specs = [(f"{f}01", f, Decimal("89"), "residential") for f in (1, 2)]
    return do_create_rooms(system, unit, specs)[0]


@pytest.fixture
def room(world: World, system: Actor) -> Room:
    return room_in(system, world.a)


@pytest.fixture
def manager(world: World, token_client) -> Client:  # type: ignore[no-untyped-def]
    return token_client(world.manager_a)  # type: ignore[no-any-return]


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (
            Person,
            Membership,
            Residency,
            Household,
            PopulationChange,
            Tenancy,
            Vehicle,
            CareRecord,
            PersonPhoto,
        )
    )


# -- people --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105198001010017", "id_number_checksum"),
        ("110105198002300015", "id_number_birth_date"),
        ("1101051980", "id_number_length"),
    ],
)
def test_registering_a_bad_id_number_says_why(
    world: World, manager: Client, number: str, code: str
) -> None:
    before = counts()
    out = refused(
        send(
            manager,
            "post",
            "/api/v1/people",
            {"community_id": world.a.pk, "name": "赵敏", "id_number": number},
        ),
        422,
        code,
    )
    assert "id_number" in out["details"]
    assert counts() == before


def test_one_id_number_is_one_person_known_to_each_community(
    world: World,
    system: Actor,
    manager: Client,
    token_client,  # type: ignore[no-untyped-def]
) -> None:
    manager_b = token_client(world.manager_b)
    new = {"community_id": world.a.pk, "name": "赵敏", "id_number": rid(1), "phone": "13900001111"}
    created = send(manager, "post", "/api/v1/people", new)
    assert created.status_code == 201 and body(created)["linked"] is False
    person_id = body(created)["id"]
    refused(send(manager, "post", "/api/v1/people", new), 409, "duplicate_id_number")
    linked = send(manager_b, "post", "/api/v1/people", {**new, "community_id": world.b.pk})
    assert linked.status_code == 200 and body(linked) == {**body(created), "linked": True}
    assert Person.objects.filter(name="赵敏").count() == 1
    assert Membership.objects.filter(person_id=person_id).count() == 2
    # each community moves the person into its own room and sees only its own residency
    person = Person.objects.get(pk=person_id)
    actions.do_start_residency(
        system, person, room_in(system, world.a), relation="owner", date_from=dt.date(2026, 1, 1)
    )
    actions.do_start_residency(
        system, person, room_in(system, world.b), relation="tenant", date_from=dt.date(2026, 2, 1)
    )
    for client, community in ((manager, world.a), (manager_b, world.b)):
        assert body(client.get(f"/api/v1/people/{person_id}"))["id"] == person_id
        seen = body(client.get(f"/api/v1/people/{person_id}/residencies"))
        assert [r["community_id"] for r in seen] == [community.pk]
        listed = body(client.get(f"/api/v1/people?community_id={community.pk}"))["items"]
        assert person_id in [p["id"] for p in listed]


def test_registering_in_another_tenants_community_is_not_found(
    world: World, manager: Client
) -> None:
    before = counts()
    refused(
        send(
            manager,
            "post",
            "/api/v1/people",
            {"community_id": world.b.pk, "name": "赵敏", "id_number": rid(2)},
        ),
        404,
        "not_found",
    )
    assert counts() == before


def test_updating_a_person(world: World, manager: Client) -> None:
    url = f"/api/v1/people/{world.person_a.pk}"
    r = send(manager, "patch", url, {"name": "王芳芳", "phone": "13912345678"})
    assert r.status_code == 200, r.content
    assert body(r)["name"] == "王芳芳" and body(r)["phone_masked"] == "139****5678"
    out = refused(send(manager, "patch", url, {"phone": "123"}), 422, "validation_error")
    assert "phone" in out["details"]
    out = refused(send(manager, "patch", url, {"ethnicity": "火星族"}), 422, "validation_error")
    assert "ethnicity" in out["details"]
    world.person_a.refresh_from_db()
    assert world.person_a.phone_masked == "139****5678"


def test_photo_upload_and_audited_read(world: World, manager: Client, token_client) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/people/{world.person_a.pk}/photo"
    r = manager.post(url, {"photo": SimpleUploadedFile("me.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 200, r.content
    assert body(r)["content_type"] == "image/jpeg" and body(r)["size"] == len(JPEG)
    guard = token_client(world.guard_a)
    got = guard.get(url)
    assert got.status_code == 200 and got.content == JPEG
    assert got["Content-Type"] == "image/jpeg" and got["Cache-Control"] == "no-store"
    read = AuditLog.objects.get(action="people.person.photo_read")
    assert read.sensitive and read.actor == world.guard_a


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a" + b"\x00" * 100, "photo_type"),
        (JPEG + b"\x00" * actions.PHOTO_MAX_BYTES, "photo_too_large"),
    ],
)
def test_a_bad_photo_upload_is_refused(
    world: World, manager: Client, data: bytes, code: str
) -> None:
    url = f"/api/v1/people/{world.person_a.pk}/photo"
    r = manager.post(url, {"photo": SimpleUploadedFile("x.jpg", data, "image/jpeg")})
    refused(r, 422, code)
    assert not PersonPhoto.objects.exists()
    refused(manager.get(url), 404, "not_found")
    assert not AuditLog.objects.filter(action="people.person.photo_read").exists()


# -- residencies and households ------------------------------------------------------------


def test_moving_into_an_unknown_room_is_not_found(
    world: World, system: Actor, manager: Client
) -> None:
    room_b = room_in(system, world.b)
    for room_id in (999_999, room_b.pk):
        r = send(
            manager,
            "post",
            "/api/v1/residencies",
            {
                "person_id": world.person_a.pk,
                "room_id": room_id,
                "relation": "owner",
                "date_from": DAY,
            },
        )
        refused(r, 404, "not_found")
    assert not Residency.objects.exists()


def test_owner_overlap_and_joint_owners(
    world: World, system: Actor, room: Room, manager: Client
) -> None:
    other = actions.do_register_person(system, world.a, name="孙丽", id_number=rid(3))
    first = send(
        manager,
        "post",
        "/api/v1/residencies",
        {"person_id": world.person_a.pk, "room_id": room.pk, "relation": "owner", "date_from": DAY},
    )
    assert first.status_code == 201, first.content
    assert PopulationChange.objects.get().source == "api"
    second = {"person_id": other.pk, "room_id": room.pk, "relation": "owner", "date_from": DAY}
    before = counts()
    refused(send(manager, "post", "/api/v1/residencies", second), 409, "owner_overlap")
    assert counts() == before
    joint = send(
        manager, "post", "/api/v1/residencies", {**second, "joint_owner": True, "kinship": "10"}
    )
    assert joint.status_code == 201 and body(joint)["household_id"] == body(first)["household_id"]
    again = {**second, "person_id": world.person_a.pk, "relation": "family"}
    refused(send(manager, "post", "/api/v1/residencies", again), 409, "residency_overlap")
    bad = send(manager, "post", "/api/v1/residencies", {**second, "relation": "lodger"})
    assert "relation" in refused(bad, 422, "validation_error")["details"]
    end = send(
        manager, "post", f"/api/v1/residencies/{body(first)['id']}/end", {"date_to": "2026-02-01"}
    )
    refused(end, 422, "date_to_before_from")
    end = send(
        manager, "post", f"/api/v1/residencies/{body(first)['id']}/end", {"date_to": "2026-06-01"}
    )
    assert end.status_code == 200 and body(end)["date_to"] == "2026-06-01"
    refused(
        send(
            manager,
            "post",
            f"/api/v1/residencies/{body(first)['id']}/end",
            {"date_to": "2026-06-02"},
        ),
        409,
        "residency_already_ended",
    )


def test_household_operations(world: World, system: Actor, room: Room, manager: Client) -> None:
    son = actions.do_register_person(system, world.a, name="王小明", id_number=rid(4))
    head = actions.do_start_residency(
        system, world.person_a, room, relation="owner", date_from=dt.date(2026, 1, 1)
    )
    member = actions.do_start_residency(
        system, son, room, relation="family", kinship=Kinship.SON, date_from=dt.date(2026, 1, 1)
    )
    assert head.household is not None
    hid = head.household.pk
    listed = body(manager.get(f"/api/v1/households?room_id={room.pk}"))["items"]
    assert [h["id"] for h in listed] == [hid] and listed[0]["head_name"] == "王芳"
    shown = body(manager.get(f"/api/v1/households/{hid}"))
    assert [(m["name"], m["kinship"]) for m in shown["members"]] == [
        ("王芳", "02"),
        ("王小明", "20"),
    ]
    assert "id_number_sealed" not in json.dumps(shown)
    kin = send(
        manager,
        "post",
        f"/api/v1/residencies/{member.pk}/kinship",
        {"kinship": "80", "occurred_on": DAY},
    )
    assert kin.status_code == 200 and body(kin)["kinship"] == "80"
    refused(
        send(
            manager,
            "post",
            f"/api/v1/residencies/{head.pk}/kinship",
            {"kinship": "20", "occurred_on": DAY},
        ),
        422,
        "is_head",
    )
    new_head = send(
        manager,
        "post",
        f"/api/v1/households/{hid}/head",
        {"residency_id": member.pk, "former_head_kinship": "50", "occurred_on": DAY},
    )
    assert new_head.status_code == 200 and body(new_head)["head_id"] == son.pk
    refused(
        send(
            manager,
            "post",
            f"/api/v1/households/{hid}/head",
            {"residency_id": member.pk, "former_head_kinship": "50", "occurred_on": DAY},
        ),
        409,
        "household_unchanged",
    )
    split = send(
        manager,
        "post",
        f"/api/v1/residencies/{head.pk}/household",
        {"household_id": None, "occurred_on": DAY},
    )
    assert split.status_code == 200 and body(split)["household_id"] != hid
    back = send(
        manager,
        "post",
        f"/api/v1/residencies/{head.pk}/household",
        {"household_id": hid, "kinship": "50", "occurred_on": DAY},
    )
    assert body(back)["household_id"] == hid
    assert (
        body(manager.get(f"/api/v1/households?room_id={room.pk}&include_dissolved=true"))["count"]
        == 2
    )
    refused(
        send(
            manager,
            "post",
            f"/api/v1/residencies/{head.pk}/household",
            {"household_id": 999_999, "occurred_on": DAY},
        ),
        404,
        "not_found",
    )
    kinds = list(
        PopulationChange.objects.filter(kind=ChangeKind.HOUSEHOLD_CHANGE).values_list(
            "details__change", flat=True
        )
    )
    assert kinds == ["kinship", "head", "transfer", "transfer"]


# -- rental registration -------------------------------------------------------------------


def test_tenancy_lifecycle(world: World, system: Actor, room: Room, manager: Client) -> None:
    today = timezone.localdate()

    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).isoformat()

    tenant = actions.do_register_person(system, world.a, name="刘洋", id_number=rid(5))
    friend = actions.do_register_person(system, world.a, name="何静", id_number=rid(6))
    new = {
        "room_id": room.pk,
        "landlord_id": world.person_a.pk,
        "tenants": [{"person_id": tenant.pk}],
        "date_from": day(-10),
        "date_to": day(20),
        "note": "整租",
    }
    before = counts()
    refused(
        send(manager, "post", "/api/v1/tenancies", {**new, "date_to": day(-10)}),
        422,
        "date_to_not_after_from",
    )
    refused(
        send(
            manager,
            "post",
            "/api/v1/tenancies",
            {**new, "tenants": [{"person_id": world.person_b.pk}]},
        ),
        404,
        "not_found",
    )
    refused(
        send(manager, "post", "/api/v1/tenancies", {**new, "landlord_id": world.person_b.pk}),
        404,
        "not_found",
    )
    refused(
        send(manager, "post", "/api/v1/tenancies", {**new, "room_id": 999_999}), 404, "not_found"
    )
    assert counts() == before
    r = send(manager, "post", "/api/v1/tenancies", new)
    assert r.status_code == 201, r.content
    tenancy = body(r)
    assert [t["person_id"] for t in tenancy["tenants"]] == [tenant.pk]
    refused(
        send(manager, "post", "/api/v1/tenancies", {**new, "tenants": []}), 409, "tenancy_overlap"
    )
    tid = tenancy["id"]
    added = send(
        manager,
        "post",
        f"/api/v1/tenancies/{tid}/tenants",
        {"person_id": friend.pk, "date_from": day(-5), "kinship": "99"},
    )
    assert added.status_code == 201 and body(added)["tenancy_id"] == tid
    refused(
        send(
            manager,
            "post",
            f"/api/v1/tenancies/{tid}/tenants",
            {"person_id": world.person_a.pk, "date_from": day(25)},
        ),
        422,
        "date_outside_tenancy",
    )
    expiring = body(manager.get("/api/v1/tenancies?status=expiring"))["items"]
    assert [t["id"] for t in expiring] == [tid]
    assert body(manager.get("/api/v1/tenancies?status=expiring&within_days=10"))["count"] == 0
    assert body(manager.get("/api/v1/tenancies?status=overdue"))["count"] == 0
    assert body(manager.get("/api/v1/tenancies?status=open"))["count"] == 1
    refused(manager.get("/api/v1/tenancies?status=soon"), 422, "invalid_status")
    refused(
        send(manager, "post", f"/api/v1/tenancies/{tid}/extend", {"date_to": day(19)}),
        422,
        "date_to_not_later",
    )
    ext = send(manager, "post", f"/api/v1/tenancies/{tid}/extend", {"date_to": day(380)})
    assert ext.status_code == 200 and body(ext)["date_to"] == day(380)
    end = send(manager, "post", f"/api/v1/tenancies/{tid}/end", {"ended_on": day(0)})
    assert end.status_code == 200 and body(end)["ended_on"] == day(0)
    detail = body(manager.get(f"/api/v1/tenancies/{tid}"))
    assert {t["date_to"] for t in detail["tenants"]} == {day(0)}
    refused(
        send(manager, "post", f"/api/v1/tenancies/{tid}/end", {"ended_on": day(1)}),
        409,
        "tenancy_ended",
    )
    kinds = list(PopulationChange.objects.values_list("kind", flat=True).order_by("id"))
    assert kinds == ["tenancy_start", "tenancy_start", "tenancy_end", "tenancy_end"]


# -- vehicles and care tags ----------------------------------------------------------------


def test_vehicles(world: World, manager: Client) -> None:
    new = {
        "community_id": world.a.pk,
        "owner_id": world.person_a.pk,
        "plate": "浙a·d12345",
        "description": "蓝色",
    }
    r = send(manager, "post", "/api/v1/vehicles", new)
    assert r.status_code == 201, r.content
    assert (body(r)["plate"], body(r)["plate_kind"], body(r)["owner_name"]) == (
        "浙AD12345",
        "new_energy",
        "王芳",
    )
    refused(
        send(manager, "post", "/api/v1/vehicles", {**new, "plate": "浙AD12345"}),
        409,
        "duplicate_plate",
    )
    refused(
        send(manager, "post", "/api/v1/vehicles", {**new, "plate": "AD12345"}),
        422,
        "plate_province",
    )
    refused(
        send(manager, "post", "/api/v1/vehicles", {**new, "plate": "浙AD1234O"}),
        422,
        "plate_letter_i_o",
    )
    refused(
        send(manager, "post", "/api/v1/vehicles", {**new, "owner_id": world.person_b.pk}),
        404,
        "not_found",
    )
    assert [v["plate"] for v in body(manager.get("/api/v1/vehicles?q=d123"))["items"]] == [
        "浙AD12345"
    ]
    assert body(manager.get("/api/v1/vehicles?q=京"))["items"] == []
    assert manager.delete(f"/api/v1/vehicles/{body(r)['id']}").status_code == 204
    assert not Vehicle.objects.exists()


@pytest.fixture
def tagged(world: World, system: Actor) -> CareRecord:
    return actions.do_add_care_tag(
        system, world.person_a, world.a, tag="elderly_alone", note="独居"
    )


@pytest.mark.parametrize("role", [Role.SECURITY_GUARD, Role.POLICE_LIAISON, Role.FRONT_DESK])
def test_care_tags_are_invisible_to_other_roles(
    world: World,
    system: Actor,
    tagged: CareRecord,
    token_client,
    role: Role,  # type: ignore[no-untyped-def]
) -> None:
    c = token_client(make_user(system, f"u-{role.value}", role, world.a))
    refused(c.get("/api/v1/care-tags"), 403, "permission_denied")
    refused(c.get(f"/api/v1/care-tags?community_id={world.a.pk}"), 403, "permission_denied")
    refused(c.get(f"/api/v1/care-tags?person_id={world.person_a.pk}"), 403, "permission_denied")
    refused(c.delete(f"/api/v1/care-tags/{tagged.pk}"), 404, "not_found")
    new = {"community_id": world.a.pk, "person_id": world.person_a.pk, "tag": "disabled"}
    refused(send(c, "post", "/api/v1/care-tags", new), 403, "permission_denied")
    for url in (
        f"/api/v1/people/{world.person_a.pk}",
        "/api/v1/people",
        f"/api/v1/households?community_id={world.a.pk}",
    ):
        text = c.get(url).content.decode()
        assert "elderly_alone" not in text and "独居" not in text and "care" not in text
    assert CareRecord.objects.count() == 1


def test_care_tags_for_those_who_may(
    world: World, system: Actor, tagged: CareRecord, manager: Client, token_client
) -> None:  # type: ignore[no-untyped-def]
    items = body(manager.get(f"/api/v1/care-tags?person_id={world.person_a.pk}"))["items"]
    assert [(i["tag"], i["person_name"]) for i in items] == [("elderly_alone", "王芳")]
    new = {"community_id": world.a.pk, "person_id": world.person_a.pk, "tag": "disabled"}
    refused(send(manager, "post", "/api/v1/care-tags", new), 403, "permission_denied")
    committee = token_client(make_user(system, "committee-a", Role.COMMITTEE_OFFICER, world.a))
    r = send(committee, "post", "/api/v1/care-tags", new)
    assert r.status_code == 201 and body(r)["tag"] == "disabled"
    refused(send(committee, "post", "/api/v1/care-tags", new), 409, "duplicate_care_tag")
    refused(
        send(committee, "post", "/api/v1/care-tags", {**new, "tag": "vip"}), 422, "validation_error"
    )
    assert committee.delete(f"/api/v1/care-tags/{tagged.pk}").status_code == 204
    assert list(CareRecord.objects.values_list("tag", flat=True)) == ["disabled"]


# -- sealed values -------------------------------------------------------------------------


def test_sealed_values_never_appear_in_responses(
    world: World, system: Actor, room: Room, manager: Client
) -> None:
    actions.do_set_photo(system, world.person_a, JPEG)
    residency = actions.do_start_residency(
        system, world.person_a, room, relation="owner", date_from=dt.date(2026, 1, 1)
    )
    person = Person.objects.get(pk=world.person_a.pk)
    secrets = [
        person.id_number_sealed,
        person.id_number_hash,
        person.phone_sealed,
        person.phone_hash,
        PersonPhoto.objects.get().sealed,
        "11010519491231002X",
        "13800138000",
    ]
    created = send(
        manager,
        "post",
        "/api/v1/people",
        {"community_id": world.a.pk, "name": "赵敏", "id_number": rid(7), "phone": "13700001111"},
    )
    secrets += [rid(7), "13700001111"]
    urls = [
        "/api/v1/people",
        f"/api/v1/people/{person.pk}",
        f"/api/v1/people/{person.pk}/residencies",
        f"/api/v1/households/{residency.household_id}",
        f"/api/v1/households?community_id={world.a.pk}",
        f"/api/v1/communities/{world.a.pk}/population-changes",
    ]
    texts = [created.content.decode()] + [manager.get(u).content.decode() for u in urls]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "sealed" not in text and "hash" not in text


def test_lists_do_not_grow_a_query_per_row(
    world: World,
    system: Actor,
    manager: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    building = do_create_building(system, world.a, number="9", floors_above=6)
    unit = do_create_unit(system, building, number="1")
    rooms = do_create_rooms(system, unit, [(f"{f}01", f, None, "residential") for f in range(1, 7)])
    for i, room in enumerate(rooms):
        person = actions.do_register_person(system, world.a, name=f"住户{i}", id_number=rid(10 + i))
        actions.do_start_residency(
            system, person, room, relation="owner", date_from=dt.date(2026, 1, 1)
        )
        actions.do_register_vehicle(system, person, world.a, f"浙A5000{i}")
        actions.do_add_care_tag(system, person, world.a, tag="veteran")
    household = Household.objects.first()
    assert household is not None
    for url in (
        "/api/v1/households",
        f"/api/v1/households/{household.pk}",
        "/api/v1/vehicles",
        "/api/v1/care-tags",
        "/api/v1/tenancies",
    ):
        with django_assert_max_num_queries(8):
            assert manager.get(url).status_code == 200
