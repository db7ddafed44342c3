"""An estate for the terminals' tests: a gate with a terminal, a lift, a resident."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from linli.access import compile
from linli.access.choices import Effect, GroupKind
from linli.access.models import AccessPoint, Group, Policy
from linli.core.tenancy import Actor
from linli.devices import credentials
from linli.devices.models import Device
from linli.people.actions import do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


def terminal(world: World, code: str, community: Any = None) -> tuple[Device, Client]:
    device = Device(
        community=community or world.a,
        code=code,
        name=code,
        kind="code_reader",
        serial=code,
    )
    secret = credentials.issue(device)
    device.save()
    return device, Client(HTTP_AUTHORIZATION=f"Bearer {code}:{secret}")


def gate_with_terminal(
    world: World, system: Actor, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """Community a's gate (served by terminal ``reader-1``) and lift, the residents' policy
    on the gate, and ``person_a`` living there."""
    a = world.a
    building = do_generate_building(
        system, a, number="1", floors_above=1, units=1, rooms_per_floor=1
    )
    gate = AccessPoint.objects.create(community=a, code="gate", name="南门", kind="community_gate")
    lift = AccessPoint.objects.create(community=a, code="lift", name="电梯", kind="elevator")
    everyone = Group.objects.create(community=a, name="住户", kind=GroupKind.RESIDENTS)
    policy = Policy.objects.create(community=a, name="住户", effect=Effect.ALLOW, group=everyone)
    policy.points.set([gate])
    compile.compile_policy(policy)
    room = Room.objects.get(unit__building=building)
    with django_capture_on_commit_callbacks(execute=True):
        do_start_residency(
            system, world.person_a, room, relation="owner", date_from=timezone.localdate()
        )
    reader, client = terminal(world, "reader-1")
    gate.devices.add(reader)
    return {"gate": gate, "lift": lift, "reader": reader, "client": client}
