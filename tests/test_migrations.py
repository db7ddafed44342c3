"""Data migrations keep what was there: people registered by two communities become one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("people", "0002_population_change"), ("places", "0002_room_area_optional")]
AFTER = [("people", "0005_person_id_number_unique")]


def migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_people_of_two_communities_merge_into_one_with_both_memberships() -> None:
    old = migrate(BEFORE)
    Community = old.get_model("places", "Community")  # type: ignore[attr-defined]
    Building = old.get_model("places", "Building")  # type: ignore[attr-defined]
    Unit = old.get_model("places", "Unit")  # type: ignore[attr-defined]
    Room = old.get_model("places", "Room")  # type: ignore[attr-defined]
    Person = old.get_model("people", "Person")  # type: ignore[attr-defined]
    Residency = old.get_model("people", "Residency")  # type: ignore[attr-defined]
    rooms = []
    for code in ("m1", "m2"):
        c = Community.objects.create(name=code, code=code)
        b = Building.objects.create(community=c, number="1", name="1")
        u = Unit.objects.create(community=c, building=b, number="1")
        rooms.append(Room.objects.create(community=c, unit=u, number="101", floor=1))
    same = {"id_type": "resident_id", "id_number_hash": "h1", "id_number_masked": "1101**"}
    first = Person.objects.create(community_id=rooms[0].community_id, name="张三", **same)
    second = Person.objects.create(community_id=rooms[1].community_id, name="张三", **same)
    other = Person.objects.create(
        community_id=rooms[1].community_id, name="李四", id_type="resident_id", id_number_hash="h2"
    )
    day = dt.date(2024, 1, 1)
    for person, room in ((first, rooms[0]), (second, rooms[1]), (other, rooms[1])):
        Residency.objects.create(
            community_id=room.community_id,
            person=person,
            room=room,
            relation="owner",
            date_from=day,
        )

    new = migrate(AFTER)
    Person = new.get_model("people", "Person")  # type: ignore[attr-defined]
    Membership = new.get_model("people", "Membership")  # type: ignore[attr-defined]
    Residency = new.get_model("people", "Residency")  # type: ignore[attr-defined]
    assert set(Person.objects.values_list("pk", flat=True)) == {first.pk, other.pk}
    assert set(
        Membership.objects.filter(person_id=first.pk).values_list("community_id", flat=True)
    ) == {rooms[0].community_id, rooms[1].community_id}
    assert set(Residency.objects.values_list("person_id", flat=True)) == {first.pk, other.pk}
    assert Residency.objects.count() == 3, "no residency was lost"
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema as it was
