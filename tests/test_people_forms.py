"""Console forms that change people: register (or link), edit, photo, move in, move out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.models import Membership, Person, PersonPhoto, PopulationChange, Residency
from linli.places.actions import do_generate_building
from tests.conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


@pytest.fixture
def building(world: World, system: Actor) -> None:
    do_generate_building(system, world.a, number="1", floors_above=3, units=1, rooms_per_floor=2)


def test_register_a_person_and_refuse_a_duplicate(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    form = {
        "name": "周敏",
        "id_type": "resident_id",
        "id_number": "110105198001010016",
        "phone": "139 1234 5678",
        "ethnicity": "01",
        "nationality": "CHN",
    }
    r = c.post(reverse("console:person_new"), form)
    assert r.status_code == 302
    person = Person.objects.get(name="周敏")
    assert person.phone_masked == "139****5678" and person.ethnicity == "01"
    again = c.post(reverse("console:person_new"), form)
    assert again.status_code == 409 and "该证件号码已登记" in again.content.decode()
    assert Person.objects.filter(name="周敏").count() == 1


def test_a_wrong_checksum_shows_on_the_field(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    r = c.post(
        reverse("console:person_new"),
        {"name": "错号", "id_type": "resident_id", "id_number": "110105198001010017"},
    )
    assert r.status_code == 422 and "校验位错误" in r.content.decode()
    assert not Person.objects.filter(name="错号").exists()


def test_an_id_registered_by_another_community_is_linked(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    r = c.post(
        reverse("console:person_new"),
        {"name": "李强", "id_type": "resident_id", "id_number": "330106198503151238"},
    )
    assert r.status_code == 302
    assert r["Location"] == reverse("console:person", args=[world.person_b.pk])
    assert set(
        Membership.objects.filter(person=world.person_b).values_list("community_id", flat=True)
    ) == {world.a.pk, world.b.pk}


def test_edit_keeps_the_phone_when_the_masked_value_comes_back(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:person_edit", args=[world.person_a.pk])
    assert "138****8000" in c.get(url).content.decode()
    r = c.post(
        url, {"name": "王芳芳", "phone": "138****8000", "ethnicity": "", "nationality": "CHN"}
    )
    assert r.status_code == 302
    person = Person.objects.get(pk=world.person_a.pk)
    assert person.name == "王芳芳" and person.phone_masked == "138****8000"


def test_photo_upload_is_sealed_and_a_non_image_refused(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:person_photo_upload", args=[world.person_a.pk])
    bad = c.post(url, {"photo": SimpleUploadedFile("x.txt", b"hello", "text/plain")})
    assert bad.status_code == 422 and not PersonPhoto.objects.exists()
    good = c.post(url, {"photo": SimpleUploadedFile("p.png", PNG, "image/png")})
    assert good.status_code == 302
    assert PNG not in PersonPhoto.objects.get().sealed.encode()


def test_move_in_then_move_out(world: World, login, building: None) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:move_in", args=[world.person_a.pk])
    unknown = c.post(
        url,
        {
            "building": "1",
            "unit": "1",
            "room": "999",
            "relation": "owner",
            "category": "registered",
            "date_from": "2024-03-01",
        },
    )
    assert unknown.status_code == 422 and "找不到房屋" in unknown.content.decode()
    ok = c.post(
        url,
        {
            "building": "1",
            "unit": "1",
            "room": "101",
            "relation": "owner",
            "category": "registered",
            "date_from": "2024-03-01",
        },
    )
    assert ok.status_code == 302, ok.content.decode()
    residency = Residency.objects.get(person=world.person_a)
    assert residency.household is not None and residency.kinship == "02"
    r = c.post(reverse("console:move_out", args=[residency.pk]), {"date_to": "2024-02-01"})
    assert r.status_code == 422 and "不能早于" in r.content.decode()
    r = c.post(reverse("console:move_out", args=[residency.pk]), {"date_to": "2025-01-31"})
    assert r.status_code == 302
    assert Residency.objects.get(pk=residency.pk).date_to == dt.date(2025, 1, 31)
    assert list(
        PopulationChange.objects.filter(person=world.person_a).values_list("kind", flat=True)
    ) == ["move_in", "move_out"]


def test_a_second_owner_needs_joint_ownership(world: World, login, building: None) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    c.post(
        reverse("console:person_new"),
        {"name": "周敏", "id_type": "resident_id", "id_number": "110105198001010016"},
    )
    other = Person.objects.get(name="周敏")
    move = {
        "building": "1",
        "unit": "1",
        "room": "102",
        "relation": "owner",
        "category": "registered",
        "date_from": "2024-03-01",
    }
    assert c.post(reverse("console:move_in", args=[world.person_a.pk]), move).status_code == 302
    refused = c.post(reverse("console:move_in", args=[other.pk]), move)
    assert refused.status_code == 409 and "已有业主" in refused.content.decode()
    joint = c.post(
        reverse("console:move_in", args=[other.pk]), {**move, "joint_owner": "on", "kinship": "10"}
    )
    assert joint.status_code == 302
    assert Residency.objects.filter(room__number="102").count() == 2


def test_forms_refuse_other_communities_and_readers(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    assert c.get(reverse("console:person_edit", args=[world.person_b.pk])).status_code == 404
    assert c.get(reverse("console:move_in", args=[world.person_b.pk])).status_code == 404
    guard = login(world.guard_a)
    assert guard.get(reverse("console:person_new")).status_code == 403
    assert guard.get(reverse("console:person_edit", args=[world.person_a.pk])).status_code == 403
    assert not AuditLog.objects.filter(action="people.person.update").exists()
