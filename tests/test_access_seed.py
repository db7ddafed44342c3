"""The demo's access control: gates for residents, their own unit's door, passes for all."""

from __future__ import annotations

from linli.access import actions
from linli.access.decisions import Presented, decide
from linli.access.models import AccessPoint, Credential
from linli.access.seed import seed_access
from linli.people.models import Residency
from linli.seed import seed_community, seed_devices


def test_the_demo_estate_lets_residents_through_their_doors(db: None) -> None:
    summary = seed_community(residents=30, seed=7, code="acc")
    community = summary.community
    seed_devices(community, seed=7)
    counts = seed_access(community, seed=7)
    assert counts["points"] >= 4 and counts["rights"] > 0 and counts["passes"] > 0
    residency = Residency.objects.filter(community=community).select_related("room__unit").first()
    assert residency is not None
    person_id = residency.person_id
    own = AccessPoint.objects.get(community=community, unit=residency.room.unit)
    gate = AccessPoint.objects.get(community=community, code="gate-1")
    assert gate.devices.exists()
    other = (
        AccessPoint.objects.filter(community=community, kind="building_entrance")
        .exclude(pk=own.pk)
        .first()
    )

    def show() -> str:
        return actions.show_pass(person_id, community.pk)

    assert decide(gate, Presented("qr", show())).reason == "allowed"
    assert decide(own, Presented("qr", show())).reason == "allowed"
    if other is not None:
        assert decide(other, Presented("qr", show())).reason == "no_permission"
    assert Credential.objects.filter(community=community, kind="qr").count() == counts["passes"]


def test_every_access_task_runs_on_the_demo_estate(db: None) -> None:
    from linli.access import tasks

    summary = seed_community(residents=15, seed=8, code="tasks")
    seed_devices(summary.community, seed=8)
    seed_access(summary.community, seed=8)
    tasks.reconcile_task()
    tasks.notify_terminals_task()
    tasks.expire_visitors_task()
    tasks.purge_task()
    tasks.purge_changes_task()
    from linli.devices.models import Command

    told = Command.objects.filter(name="sync_credentials").select_related("device")
    assert told.exists()
    assert all(c.device.kind != "barrier_gate" for c in told)
