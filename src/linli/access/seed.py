"""Demo access control for a seeded community: points, groups, schedules, policies, passes.

The gates and each unit entrance become access points served by the terminals the demo
registered there; residents pass the gates and their own unit's entrance, staff pass
everywhere, the parking barriers open to residents round the clock and to visitors only
by day, and every resident holds a 一码通 pass (and a few a card).
"""

from __future__ import annotations

import random

from django.db import transaction

from linli.access import actions, compile
from linli.access.choices import Direction, Effect, GroupKind, PointKind
from linli.access.models import AccessPoint, Group, Policy, Schedule
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.devices.models import Device
from linli.people.models import Person, Residency
from linli.places.models import Community, Unit

STAFF_ROLES = [Role.PROPERTY_MANAGER, Role.SECURITY_GUARD, Role.TECHNICIAN, Role.FRONT_DESK]


@transaction.atomic
def seed_access(community: Community, *, seed: int, card_share: float = 0.2) -> dict[str, int]:
    """Create the community's demo access control; return counts."""
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
    system = Actor.system("seed")
    devices = list(Device.objects.filter(community=community).order_by("code"))
    # Terminals not placed in a building stand at the community's gates.
    gates = [
        d
        for d in devices
        if d.kind in ("face_terminal", "barrier_gate") and d.building_id is None and not d.unit_id
    ]
    points: list[AccessPoint] = []
    for n, door in enumerate([d for d in gates if d.kind == "face_terminal"], start=1):
        point = AccessPoint.objects.create(
            community=community,
            code=f"gate-{n}",
            name=door.name.replace("人脸机", ""),
            kind=PointKind.COMMUNITY_GATE,
            direction=Direction.BOTH,
            area_id=door.area_id,
        )
        point.devices.add(door)
        points.append(point)
    barriers = []
    for n, barrier in enumerate([d for d in gates if d.kind == "barrier_gate"], start=1):
        point = AccessPoint.objects.create(
            community=community,
            code=f"parking-{n}",
            name=barrier.name,
            kind=PointKind.PARKING_BARRIER,
            area_id=barrier.area_id,
        )
        point.devices.add(barrier)
        barriers.append(point)
    entrances: dict[int, AccessPoint] = {}
    for unit in Unit.objects.filter(community=community).select_related("building"):
        point = AccessPoint.objects.create(
            community=community,
            code=f"u{unit.building.number}-{unit.number}",
            name=f"{unit.building}{unit.number}单元门",
            kind=PointKind.BUILDING_ENTRANCE,
            building_id=unit.building_id,
            unit=unit,
        )
        point.devices.add(*[d for d in devices if d.unit_id == unit.pk])
        entrances[unit.pk] = point
    days = Schedule.objects.create(
        community=community,
        name="白天 7:00–22:00",
        windows=[{"days": [1, 2, 3, 4, 5, 6, 7], "start": "07:00", "end": "22:00"}],
    )
    residents = Group.objects.create(community=community, name="全体住户", kind=GroupKind.RESIDENTS)
    staff = Group.objects.create(
        community=community, name="物业工作人员", kind=GroupKind.STAFF, roles=STAFF_ROLES
    )
    visitors = Group.objects.create(community=community, name="访客", kind=GroupKind.VISITORS)
    policies = []
    gate_policy = Policy.objects.create(
        community=community, name="住户出入大门", effect=Effect.ALLOW, group=residents
    )
    gate_policy.points.set(points + barriers)
    policies.append(gate_policy)
    staff_policy = Policy.objects.create(
        community=community,
        name="工作人员全部通行",
        effect=Effect.ALLOW,
        group=staff,
        all_points=True,
    )
    policies.append(staff_policy)
    visitor_parking = Policy.objects.create(
        community=community,
        name="访客车辆白天进出",
        effect=Effect.ALLOW,
        group=visitors,
        schedule=days,
    )
    visitor_parking.points.set(barriers)
    policies.append(visitor_parking)
    for unit_id, point in entrances.items():
        group = Group.objects.create(
            community=community,
            name=f"{point.name}住户",
            kind=GroupKind.RESIDENTS,
            unit_id=unit_id,
        )
        policy = Policy.objects.create(
            community=community,
            name=f"{point.name}住户通行",
            effect=Effect.ALLOW,
            group=group,
        )
        policy.points.set([point])
        policies.append(policy)
    rights = sum(compile.compile_policy(p) for p in policies)
    people = sorted(
        set(Residency.objects.filter(community=community).values_list("person_id", flat=True))
    )
    for person_id in people:
        actions.ensure_pass(person_id, community.pk)
    cards = 0
    for person in Person.objects.filter(pk__in=people).order_by("pk"):
        if rng.random() < card_share:
            uid = f"{rng.randrange(16**8):08X}"
            actions.do_issue_credential(system, person, community.pk, kind="card", value=uid)
            cards += 1
    return {
        "points": len(points) + len(barriers) + len(entrances),
        "policies": len(policies),
        "rights": rights,
        "passes": len(people),
        "cards": cards,
    }
