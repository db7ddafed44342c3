"""Background work of access control: reconcile rights and credentials, purge used passes.

Every five minutes each community's rights are compiled afresh and the credentials of
people who moved out (a move-out dated in the past or today, no current residency, no role
on the community) are revoked: the after-commit handlers do this at once, this repairs
what a crash between commit and handler left behind, and applies move-outs recorded in
advance once their date comes. Used-pass records are deleted once their pass expired.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from linli.access import actions, compile, sync, visitors
from linli.access.choices import CredentialStatus
from linli.access.models import Credential, PassUse
from linli.core.worker import task
from linli.people.models import Person, Residency
from linli.places.models import Community

log = logging.getLogger(__name__)


def moved_out(community_id: int) -> set[int]:
    """People with a live credential in the community who no longer live or work there."""
    today = timezone.localdate()
    holders = set(
        Credential.objects.filter(community_id=community_id, person__isnull=False)
        .exclude(status=CredentialStatus.REVOKED)
        .values_list("person_id", flat=True)
    )
    if not holders:
        return set()
    living = set(
        Residency.objects.filter(community_id=community_id, person_id__in=holders)
        .filter(Q(date_to__isnull=True) | Q(date_to__gt=today))
        .values_list("person_id", flat=True)
    )
    ended = set(
        Residency.objects.filter(
            community_id=community_id, person_id__in=holders, date_to__lte=today
        ).values_list("person_id", flat=True)
    )
    staff = set(
        Person.objects.filter(pk__in=holders)
        .filter(
            Q(user__grants__community_id=community_id)
            | Q(user__organisation__grants__community_id=community_id)
        )
        .values_list("pk", flat=True)
    )
    return (ended - living) - staff


def reconcile(community_id: int) -> dict[str, int]:
    """Revoke moved-out people's credentials and recompile the community's rights."""
    revoked = 0
    for person_id in sorted(moved_out(community_id)):
        revoked += actions.revoke_all(person_id, community_id, "moved_out")
    rights = compile.compile_community(community_id)
    return {"revoked": revoked, "rights": rights}


def purge_pass_uses(now: dt.datetime | None = None) -> int:
    """Forget used passes that have expired; return how many."""
    deleted, _ = PassUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


@task("access.reconcile", every=dt.timedelta(minutes=5))
def reconcile_task() -> None:
    """Run :func:`reconcile` for every community (periodic)."""
    for community_id in Community.objects.values_list("pk", flat=True):
        result = reconcile(community_id)
        if result["revoked"]:
            log.info("community %s: %s", community_id, result)


@task("access.purge_pass_uses", every=dt.timedelta(minutes=1))
def purge_task() -> None:
    """Run :func:`purge_pass_uses` (periodic)."""
    purge_pass_uses()


@task("access.expire_visitors", every=dt.timedelta(minutes=1))
def expire_visitors_task() -> None:
    """Run :func:`linli.access.visitors.expire_visitors` (periodic)."""
    visitors.expire_visitors()


@task("access.notify_terminals", every=dt.timedelta(seconds=10))
def notify_terminals_task() -> None:
    """Tell terminals behind their community's allowlist version to sync (periodic)."""
    for community_id in Community.objects.values_list("pk", flat=True):
        sync.notify_terminals(community_id)


@task("access.purge_changes", every=dt.timedelta(hours=1))
def purge_changes_task() -> None:
    """Run :func:`linli.access.sync.purge_changes` (periodic)."""
    sync.purge_changes()
