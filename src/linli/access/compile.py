"""Compile policies into :class:`AccessRight` rows: one per (policy, person, access point).

A policy names a group; a group's members come from the registry: residents with a
current residency (in the community, a building or a unit), staff whose sign-in account
holds one of the group's roles on the community (directly or through their
organisation), service providers likewise, or a named list. Visitors have no rows: their
pass names the access points, and the VISITORS group's deny policies are read at the
door.

Rights are rebuilt for one policy when it changes, for one person when a residency or
grant changes, and for a whole community by :func:`compile_community` (also run by the
worker every few minutes, so a change whose after-commit step was lost — a crash
between commit and handler — is repaired).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.access import sync
from linli.access.choices import GroupKind
from linli.access.models import AccessPoint, AccessRight, Group, Policy
from linli.core.choices import Role
from linli.people.models import Person, Residency


def _today() -> dt.date:
    return timezone.localdate()


def members(group: Group, *, people: Iterable[int] | None = None) -> set[int]:
    """Return the ids of the people in ``group`` today (only among ``people`` if given)."""
    only = None if people is None else set(people)
    if group.kind == GroupKind.RESIDENTS:
        today = _today()
        qs = Residency.objects.filter(community_id=group.community_id, date_from__lte=today).filter(
            Q(date_to__isnull=True) | Q(date_to__gt=today)
        )
        if group.unit_id is not None:
            qs = qs.filter(room__unit_id=group.unit_id)
        elif group.building_id is not None:
            qs = qs.filter(room__unit__building_id=group.building_id)
        if only is not None:
            qs = qs.filter(person_id__in=only)
        return set(qs.values_list("person_id", flat=True))
    if group.kind in (GroupKind.STAFF, GroupKind.SERVICE_PROVIDERS):
        roles = (
            [Role.SERVICE_PROVIDER]
            if group.kind == GroupKind.SERVICE_PROVIDERS
            else [r for r in group.roles if r != Role.RESIDENT]
        )
        if not roles:
            return set()
        holders = Q(user__grants__community_id=group.community_id, user__grants__role__in=roles)
        via_org = Q(
            user__organisation__grants__community_id=group.community_id,
            user__organisation__grants__role__in=roles,
        )
        people_qs = Person.objects.filter(holders | via_org)
        if only is not None:
            people_qs = people_qs.filter(pk__in=only)
        return set(people_qs.values_list("pk", flat=True))
    if group.kind == GroupKind.LIST:
        ids = set(group.members.values_list("pk", flat=True))
        return ids if only is None else ids & only
    return set()  # visitors: decided from their pass


def _points(policy: Policy) -> list[int]:
    if policy.all_points:
        return list(
            AccessPoint.objects.filter(community_id=policy.community_id).values_list(
                "pk", flat=True
            )
        )
    return list(policy.points.values_list("pk", flat=True))


def _rows(policy: Policy, people: set[int], points: list[int]) -> list[AccessRight]:
    return [
        AccessRight(
            community_id=policy.community_id,
            person_id=person,
            point_id=point,
            policy_id=policy.pk,
            effect=policy.effect,
            schedule_id=policy.schedule_id,
            valid_from=policy.valid_from,
            valid_until=policy.valid_until,
        )
        for person in sorted(people)
        for point in points
    ]


@transaction.atomic
def compile_policy(policy: Policy) -> int:
    """Rebuild the rights of one policy; return how many rows it now has."""
    before = set(AccessRight.objects.filter(policy=policy).values_list("person_id", flat=True))
    AccessRight.objects.filter(policy=policy).delete()
    rows = _rows(policy, members(policy.group), _points(policy)) if policy.enabled else []
    AccessRight.objects.bulk_create(rows, batch_size=2000)
    sync.touch(policy.community_id, people=before | {r.person_id for r in rows})
    return len(rows)


@transaction.atomic
def compile_person(person_id: int, community_id: int) -> int:
    """Rebuild one person's rights in one community; return how many rows they have."""
    AccessRight.objects.filter(community_id=community_id, person_id=person_id).delete()
    rows: list[AccessRight] = []
    policies = Policy.objects.filter(community_id=community_id, enabled=True).select_related(
        "group"
    )
    for policy in policies:
        if person_id in members(policy.group, people=[person_id]):
            rows += _rows(policy, {person_id}, _points(policy))
    AccessRight.objects.bulk_create(rows, batch_size=2000)
    sync.touch(community_id, people=[person_id])
    return len(rows)


def compile_community(community_id: int) -> int:
    """Rebuild every right of a community (policy by policy); return the number of rows."""
    total = 0
    with transaction.atomic():
        live = set(Policy.objects.filter(community_id=community_id).values_list("pk", flat=True))
        AccessRight.objects.filter(community_id=community_id).exclude(policy_id__in=live).delete()
        for policy in Policy.objects.filter(community_id=community_id).select_related("group"):
            total += compile_policy(policy)
    return total


__all__ = ["compile_community", "compile_person", "compile_policy", "members"]
