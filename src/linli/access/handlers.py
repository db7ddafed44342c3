"""Keep rights and credentials in step with the registry (after each change commits).

A move-in compiles the person's rights; a move-out that leaves the person living nowhere
in the community revokes their credentials there and drops their rights; a role given or
withdrawn recompiles the rights of the person behind that account. The worker's
reconciliation (:mod:`linli.access.tasks`) repairs anything a lost handler missed.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.access import actions, compile
from linli.core.events import GrantChanged, handles
from linli.people.events import ResidencyEnded, ResidencyStarted
from linli.people.models import Person, Residency

log = logging.getLogger(__name__)


def lives_in(person_id: int, community_id: int) -> bool:
    """Say whether the person has a current residency in the community."""
    today = timezone.localdate()
    return (
        Residency.objects.filter(person_id=person_id, community_id=community_id)
        .filter(Q(date_to__isnull=True) | Q(date_to__gt=today))
        .exists()
    )


@handles(ResidencyStarted)
def on_residency_started(evt: ResidencyStarted) -> None:
    """Compile the new resident's rights."""
    compile.compile_person(evt.person_id, evt.community_id)


@handles(ResidencyEnded)
def on_residency_ended(evt: ResidencyEnded) -> None:
    """Revoke access once the person no longer lives in the community."""
    with transaction.atomic():
        if not lives_in(evt.person_id, evt.community_id):
            count = actions.revoke_all(evt.person_id, evt.community_id, "moved_out")
            if count:
                log.info(
                    "person %s moved out of community %s: %d credentials revoked",
                    evt.person_id,
                    evt.community_id,
                    count,
                )
        compile.compile_person(evt.person_id, evt.community_id)


@handles(GrantChanged)
def on_grant_changed(evt: GrantChanged) -> None:
    """Recompile the rights of the person whose account gained or lost a role."""
    if evt.community_id is None or evt.user_id is None:
        return
    person = Person.objects.filter(user_id=evt.user_id).first()
    if person is not None:
        compile.compile_person(person.pk, evt.community_id)
