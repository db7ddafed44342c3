"""People actions: registration refusals, one person across communities, vehicles, care tags,
photos. Every refusal is a clear error and writes nothing."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from linli.core import crypto, errors
from linli.core.choices import Role
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people import actions, selectors
from linli.people.choices import CareTag
from linli.people.models import CareRecord, Membership, Person, PersonPhoto, Vehicle
from tests.conftest import World, make_user

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60


def with_check_digit(body: str) -> str:
    """Return the 18-digit number of a 17-digit body with its correct check digit."""
    return body + ric.calc_check_digit(body + "0")


def written() -> tuple[int, int, int, int, int]:
    return (
        Person.objects.count(),
        Membership.objects.count(),
        Vehicle.objects.count(),
        CareRecord.objects.count(),
        AuditLog.objects.count(),
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105198001010017", "id_number_checksum"),  # the right digit is 6
        (with_check_digit("11010519800230001"), "id_number_birth_date"),  # 30 February
        (with_check_digit("11010520990101001"), "id_number_birth_date"),  # born in 2099
        (with_check_digit("99010519800101001"), "id_number_region"),
        ("11010519800101", "id_number_length"),
    ],
)
def test_bad_id_numbers_are_refused_with_their_reason(world: World, number: str, code: str) -> None:
    manager = Actor.for_user(world.manager_a)
    before = written()
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_register_person(manager, world.a, name="赵敏", id_number=number)
    assert caught.value.code == code
    assert list(caught.value.details) == ["id_number"]
    assert written() == before


def test_a_duplicate_in_the_same_community_is_a_conflict(world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    before = written()
    with pytest.raises(errors.Conflict) as caught:
        actions.do_register_person(manager, world.a, name="王芳", id_number="11010519491231002x")
    assert caught.value.code == "duplicate_id_number"
    assert written() == before


def test_the_same_id_in_another_community_links_one_person(world: World, system: Actor) -> None:
    manager_b = Actor.for_user(world.manager_b)
    linked = actions.do_register_person(
        manager_b, world.b, name="王芳（另录）", id_number="11010519491231002x"
    )
    assert linked.pk == world.person_a.pk and linked.name == "王芳", "details are not overwritten"
    assert Person.objects.filter(id_number_hash=linked.id_number_hash).count() == 1
    assert set(Membership.objects.filter(person=linked).values_list("community_id", flat=True)) == {
        world.a.pk,
        world.b.pk,
    }
    assert AuditLog.objects.filter(
        action="people.person.link", community_id=world.b.pk, actor=world.manager_b
    ).exists()
    for manager in (world.manager_a, world.manager_b):
        assert selectors.get_person(Actor.for_user(manager), linked.pk) == linked


def test_bad_phone_and_codes_are_refused_together(world: World) -> None:
    before = written()
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_register_person(
            Actor.for_user(world.manager_a),
            world.a,
            name="赵敏",
            id_number="110105198001010016",
            phone="12345",
            ethnicity="火星族",
        )
    assert {"phone", "ethnicity"} <= set(caught.value.details)
    assert written() == before


# -- vehicles ------------------------------------------------------------------------------


def test_a_vehicle_is_registered_by_its_normalised_plate(world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    car = actions.do_register_vehicle(manager, world.person_a, world.a, "京a·12345", "白色轿车")
    ev = actions.do_register_vehicle(manager, world.person_a, world.a, "沪AD12345")
    assert (car.plate, car.plate_kind, car.description) == ("京A12345", "ordinary", "白色轿车")
    assert (ev.plate, ev.plate_kind) == ("沪AD12345", "new_energy")
    row = AuditLog.objects.get(action="people.vehicle.register", object_id=str(car.pk))
    assert row.changes == {"plate": [None, "京A12345"], "owner": [None, world.person_a.pk]}


@pytest.mark.parametrize(
    ("plate", "code"),
    [
        ("A12345", "plate_province"),
        ("京A1234O", "plate_letter_i_o"),
        ("京112345", "plate_authority"),
        ("京A1234", "plate_format"),
        ("粤A1234港", "plate_hk_macao"),
    ],
)
def test_a_bad_plate_is_refused_with_its_reason(world: World, plate: str, code: str) -> None:
    before = written()
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_register_vehicle(Actor.for_user(world.manager_a), world.person_a, world.a, plate)
    assert caught.value.code == code
    assert written() == before


def test_a_plate_is_registered_once_per_community(world: World, system: Actor) -> None:
    manager = Actor.for_user(world.manager_a)
    actions.do_register_vehicle(manager, world.person_a, world.a, "京A12345")
    before = written()
    with pytest.raises(errors.Conflict) as caught:
        actions.do_register_vehicle(manager, world.person_a, world.a, "京A-12345")
    assert caught.value.code == "duplicate_plate"
    assert written() == before
    # another community may know the same car (the owner is linked there)
    actions.do_register_person(system, world.b, name="王芳", id_number="11010519491231002X")
    actions.do_register_vehicle(system, world.person_a, world.b, "京A12345")
    assert Vehicle.objects.filter(plate="京A12345").count() == 2


def test_vehicle_owner_must_be_known_to_the_community(world: World, system: Actor) -> None:
    manager_a = Actor.for_user(world.manager_a)
    with pytest.raises(errors.NotFound):
        actions.do_register_vehicle(manager_a, world.person_b, world.a, "京A12345")
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_register_vehicle(system, world.person_b, world.a, "京A12345")
    assert caught.value.code == "person_not_in_community"
    with pytest.raises(errors.PermissionDenied):
        actions.do_register_vehicle(
            Actor.for_user(world.guard_a), world.person_a, world.a, "京A12345"
        )
    assert not Vehicle.objects.exists()


def test_removing_a_vehicle_is_audited(world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    car = actions.do_register_vehicle(manager, world.person_a, world.a, "京A12345")
    with pytest.raises(errors.NotFound):
        actions.do_remove_vehicle(Actor.for_user(world.manager_b), car)
    actions.do_remove_vehicle(manager, car)
    assert not Vehicle.objects.exists()
    row = AuditLog.objects.get(action="people.vehicle.remove")
    assert row.changes["plate"] == ["京A12345", None] and row.community_id == world.a.pk


# -- care tags -----------------------------------------------------------------------------


@pytest.fixture
def committee(world: World, system: Actor) -> Actor:
    """A committee officer of A: holds ``person.care_view`` and ``person.care_manage``."""
    return Actor.for_user(make_user(system, "committee-a", Role.COMMITTEE_OFFICER, world.a))


def test_care_tags_are_added_and_removed_by_care_managers(world: World, committee: Actor) -> None:
    record = actions.do_add_care_tag(
        committee, world.person_a, world.a, tag=CareTag.ELDERLY_ALONE, note="每周探访"
    )
    assert AuditLog.objects.filter(action="people.care_tag.add", actor_label="committee-a").exists()
    assert list(selectors.list_care_records(committee, community_id=world.a.pk)) == [record]
    assert list(selectors.list_care_records(Actor.for_user(world.manager_a))) == [record]
    actions.do_remove_care_tag(committee, record)
    assert not CareRecord.objects.exists()
    assert AuditLog.objects.filter(action="people.care_tag.remove").exists()


def test_care_tag_refusals_write_nothing(world: World, committee: Actor, system: Actor) -> None:
    actions.do_add_care_tag(committee, world.person_a, world.a, tag=CareTag.DISABLED)
    before = written()
    cases: list[tuple[Actor, object, str, type, str]] = [
        (committee, world.person_a, CareTag.DISABLED, errors.Conflict, "duplicate_care_tag"),
        (committee, world.person_a, "rich", errors.ValidationFailed, "validation_error"),
        (committee, world.person_b, CareTag.VETERAN, errors.NotFound, "not_found"),
        (
            system,
            world.person_b,
            CareTag.VETERAN,
            errors.ValidationFailed,
            "person_not_in_community",
        ),
        # a property manager sees tags but does not manage them
        (
            Actor.for_user(world.manager_a),
            world.person_a,
            CareTag.VETERAN,
            errors.PermissionDenied,
            "permission_denied",
        ),
    ]
    for actor, person, tag, error, code in cases:
        with pytest.raises(error) as caught:
            actions.do_add_care_tag(actor, person, world.a, tag=tag)  # type: ignore[arg-type]
        assert caught.value.code == code, (actor.label, tag)
    assert written() == before


@pytest.mark.parametrize("who", ["guard_a", "police_a"])
def test_other_roles_cannot_read_care_tags(world: World, committee: Actor, who: str) -> None:
    actions.do_add_care_tag(committee, world.person_a, world.a, tag=CareTag.LOW_INCOME)
    actor = Actor.for_user(getattr(world, who))
    with pytest.raises(errors.PermissionDenied):
        selectors.list_care_records(actor)
    with pytest.raises(errors.PermissionDenied):
        selectors.list_care_records(actor, community_id=world.a.pk)
    with pytest.raises(errors.NotFound):
        selectors.get_care_record(actor, CareRecord.objects.get().pk)


# -- photos --------------------------------------------------------------------------------


def test_a_photo_is_sealed_and_each_read_is_audited_as_sensitive(world: World) -> None:
    manager = Actor.for_user(world.manager_a)
    actions.do_set_photo(manager, world.person_a, JPEG)
    stored = PersonPhoto.objects.get(person=world.person_a)
    assert stored.content_type == "image/jpeg" and JPEG not in stored.sealed.encode()
    assert crypto.keyring().open_bytes(stored.sealed, actions.PHOTO_PURPOSE) == JPEG
    police = Actor.for_user(world.police_a)
    assert actions.do_read_photo(police, world.person_a) == (JPEG, "image/jpeg")
    read = AuditLog.objects.get(action="people.person.photo_read")
    assert read.sensitive and read.actor == world.police_a and read.community_id == world.a.pk
    actions.do_set_photo(manager, world.person_a, PNG)
    assert PersonPhoto.objects.get().content_type == "image/png", "a new photo replaces the old"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a" + b"\x00" * 60, "photo_type"),
        (b"%PDF-1.7", "photo_type"),
        (b"", "photo_type"),
        (JPEG + b"\x00" * actions.PHOTO_MAX_BYTES, "photo_too_large"),
    ],
)
def test_a_bad_photo_is_refused(world: World, data: bytes, code: str) -> None:
    before = AuditLog.objects.count()
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_set_photo(Actor.for_user(world.manager_a), world.person_a, data)
    assert caught.value.code == code
    assert not PersonPhoto.objects.exists() and AuditLog.objects.count() == before


def test_a_guard_cannot_upload_and_nobody_reads_a_missing_photo(world: World) -> None:
    with pytest.raises(errors.PermissionDenied):
        actions.do_set_photo(Actor.for_user(world.guard_a), world.person_a, JPEG)
    with pytest.raises(errors.NotFound):
        actions.do_read_photo(Actor.for_user(world.manager_a), world.person_a)
    with pytest.raises(errors.NotFound):
        actions.do_read_photo(Actor.for_user(world.manager_b), world.person_a)
    assert not AuditLog.objects.filter(action="people.person.photo_read").exists()
