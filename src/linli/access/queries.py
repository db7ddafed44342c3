"""Tenant-scoped reads of access control for the API: configuration, credentials, the log.

Every read starts from ``Model.objects.restrict(actor, perm)``: an object of a community
the actor holds no grant on is missing (:class:`~linli.core.errors.NotFound`), never
forbidden. Credentials are listed without their secrets (see the schemas).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessEvent,
    AccessPoint,
    Consent,
    Credential,
    Group,
    Holiday,
    Policy,
    Schedule,
    Visitor,
)
from linli.core import errors
from linli.core.tenancy import Actor
from linli.people.models import Person

# Access points ------------------------------------------------------------------------


def list_access_points(
    actor: Actor,
    *,
    community_id: int | None = None,
    kind: str = "",
    building_id: int | None = None,
    enabled: bool | None = None,
    q: str = "",
) -> QuerySet[AccessPoint]:
    """Return visible access points, filtered by community, kind, building, state, code/name."""
    qs = AccessPoint.objects.restrict(actor, "access.view").prefetch_related("devices")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if kind:
        qs = qs.filter(kind=kind)
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return qs.order_by("community_id", "code")


def count_passages(points: QuerySet[AccessPoint], since: dt.datetime) -> QuerySet[AccessPoint]:
    """Annotate points with their terminals and their passages allowed and denied since."""
    recent = Q(events__at__gte=since)
    return points.annotate(
        terminals=Count("devices", distinct=True),
        allowed=Count("events", filter=recent & Q(events__result="allow"), distinct=True),
        denied=Count("events", filter=recent & Q(events__result="deny"), distinct=True),
    )


def get_access_point(actor: Actor, point_id: int) -> AccessPoint:
    """Return one visible access point or raise :class:`NotFound`."""
    return (
        AccessPoint.objects.restrict(actor, "access.view")
        .prefetch_related("devices")
        .one_or_404(point_id)
    )


# Schedules and holidays ---------------------------------------------------------------


def list_schedules(
    actor: Actor, *, community_id: int | None = None, q: str = ""
) -> QuerySet[Schedule]:
    """Return visible schedules, filtered by community and name."""
    qs = Schedule.objects.restrict(actor, "access.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("community_id", "name", "pk")


def get_schedule(actor: Actor, schedule_id: int) -> Schedule:
    """Return one visible schedule or raise :class:`NotFound`."""
    return Schedule.objects.restrict(actor, "access.view").one_or_404(schedule_id)


def list_holidays(
    actor: Actor,
    community_id: int,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Holiday]:
    """Return the days that apply in a community: deployment-wide ones and its own."""
    actor.require("access.view", community_id)
    qs = Holiday.objects.filter(Q(community__isnull=True) | Q(community_id=community_id))
    if since is not None:
        qs = qs.filter(date__gte=since)
    if until is not None:
        qs = qs.filter(date__lte=until)
    return qs.order_by("date", "community_id")


def get_holiday(actor: Actor, holiday_id: int) -> Holiday:
    """Return a holiday of a community the actor may see, or a deployment-wide one."""
    holiday = Holiday.objects.filter(pk=holiday_id).first()
    if holiday is None or (
        holiday.community_id is not None and not actor.can("access.view", holiday.community_id)
    ):
        raise errors.NotFound()
    return holiday


# Groups and policies ------------------------------------------------------------------


def list_groups(
    actor: Actor, *, community_id: int | None = None, kind: str = "", q: str = ""
) -> QuerySet[Group]:
    """Return visible groups, filtered by community, kind and name."""
    qs = Group.objects.restrict(actor, "access.view").prefetch_related("members")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("community_id", "name", "pk")


def get_group(actor: Actor, group_id: int) -> Group:
    """Return one visible group or raise :class:`NotFound`."""
    return (
        Group.objects.restrict(actor, "access.view")
        .prefetch_related("members")
        .one_or_404(group_id)
    )


def list_candidates(actor: Actor, group: Group, q: str, limit: int = 20) -> list[Person]:
    """People of the group's community whose name contains ``q`` and who are not on the
    (named) list yet, by name; at most ``limit``."""
    from linli.people.selectors import list_people

    return list(
        list_people(actor, community_id=group.community_id, q=q)
        .exclude(pk__in=group.members.values("pk"))
        .order_by("name", "pk")[:limit]
    )


def list_policies(
    actor: Actor,
    *,
    community_id: int | None = None,
    group_id: int | None = None,
    point_id: int | None = None,
    schedule_id: int | None = None,
    effect: str = "",
    enabled: bool | None = None,
) -> QuerySet[Policy]:
    """Return visible policies; ``point_id`` keeps those naming the point or every point."""
    qs = Policy.objects.restrict(actor, "access.view").prefetch_related("points")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    if point_id is not None:
        point = AccessPoint.objects.filter(pk=point_id).values_list("community_id", flat=True)
        qs = qs.filter(Q(points=point_id) | Q(all_points=True, community_id__in=point)).distinct()
    if schedule_id is not None:
        qs = qs.filter(schedule_id=schedule_id)
    if effect:
        qs = qs.filter(effect=effect)
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    return qs.order_by("community_id", "name", "pk")


def get_policy(actor: Actor, policy_id: int) -> Policy:
    """Return one visible policy or raise :class:`NotFound`."""
    return (
        Policy.objects.restrict(actor, "access.view")
        .prefetch_related("points")
        .one_or_404(policy_id)
    )


# People: credentials and consents -----------------------------------------------------


def get_member(actor: Actor, person_id: int, community_id: int, perm: str) -> Person:
    """Return a person of a community where the actor holds ``perm``, or raise NotFound."""
    actor.require(perm, community_id)
    person = Person.objects.in_community(community_id).filter(pk=person_id).first()
    if person is None:
        raise errors.NotFound()
    return person


def active_consent(person_id: int, community_id: int, modality: str) -> Consent | None:
    """The person's unrevoked consent to one biometric in a community, if any."""
    return Consent.objects.filter(
        community_id=community_id, person_id=person_id, modality=modality, revoked_at__isnull=True
    ).first()


def _member(person: Person, community_id: int) -> None:
    if not person.memberships.filter(community_id=community_id).exists():
        raise errors.NotFound()


def list_credentials(actor: Actor, person: Person, community_id: int) -> QuerySet[Credential]:
    """Return a person's credentials in a community (no secrets in what the API shows)."""
    actor.require("credential.view", community_id)
    _member(person, community_id)
    return Credential.objects.filter(community_id=community_id, person=person).order_by(
        "kind", "-issued_at", "-pk"
    )


def get_credential(actor: Actor, credential_id: int) -> Credential:
    """Return one visible credential or raise :class:`NotFound`."""
    return Credential.objects.restrict(actor, "credential.view").one_or_404(credential_id)


def list_consents(actor: Actor, person: Person, community_id: int) -> QuerySet[Consent]:
    """Return a person's biometric consents in a community, newest first."""
    actor.require("credential.view", community_id)
    _member(person, community_id)
    return Consent.objects.filter(community_id=community_id, person=person).order_by(
        "-given_at", "-pk"
    )


def get_consent(actor: Actor, consent_id: int) -> Consent:
    """Return one visible consent or raise :class:`NotFound`."""
    return (
        Consent.objects.restrict(actor, "credential.view")
        .select_related("person")
        .one_or_404(consent_id)
    )


# The access log -----------------------------------------------------------------------


def list_access_events(
    actor: Actor,
    *,
    community_id: int | None = None,
    point_id: int | None = None,
    person_id: int | None = None,
    result: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    method: str = "",
    q: str = "",
    after_id: int | None = None,
) -> QuerySet[AccessEvent]:
    """Return visible access log entries, newest first; ``until`` is exclusive.

    ``q`` matches the person's or visitor's name or the reason code; ``after_id`` keeps only
    entries newer than that one (a live page asking for what is new).
    """
    qs = AccessEvent.objects.restrict(actor, "access.view").select_related(
        "point", "person", "visitor", "device"
    )
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if point_id is not None:
        qs = qs.filter(point_id=point_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if result:
        qs = qs.filter(result=result)
    if method:
        qs = qs.filter(method=method)
    if q:
        qs = qs.filter(
            Q(person__name__icontains=q) | Q(visitor__name__icontains=q) | Q(reason__icontains=q)
        )
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-at", "-pk")


# The resident's own pass --------------------------------------------------------------


def own_pass_community(actor: Actor, community_id: int | None = None) -> tuple[Person, int]:
    """Return the actor's own person and the community to show their pass for.

    The person is the one linked to the actor's account; the community one of theirs where
    the actor holds ``pass.own`` (``community_id``, required when there are several).
    """
    if actor.community_ids("pass.own") == frozenset():
        raise errors.PermissionDenied()
    person, mine = own_pass_communities(actor)
    if person is None:
        raise errors.NotFound()
    if community_id is not None:
        if community_id not in mine:
            raise errors.NotFound()
        return person, community_id
    if not mine:
        raise errors.NotFound()
    if len(mine) > 1:
        raise errors.ValidationFailed(
            details={"community_id": [_("您在多个社区有通行码，请指定社区。")]}
        )
    return person, mine[0]


def own_pass_communities(actor: Actor) -> tuple[Person | None, list[int]]:
    """The person linked to the actor's account (if any) and, sorted, the communities of
    theirs where the actor holds ``pass.own``."""
    person = Person.objects.filter(user=actor.user).first() if actor.user else None
    if person is None:
        return None, []
    mine = sorted(
        cid
        for cid in person.memberships.values_list("community_id", flat=True)
        if actor.can("pass.own", cid)
    )
    return person, mine


# Visitors -----------------------------------------------------------------------------


def points_for_visitors(actor: Actor, community_id: int) -> QuerySet[AccessPoint]:
    """The enabled access points a resident (or the front desk) may open to a visitor."""
    if not actor.can("visitor.manage", community_id):
        actor.require("pass.own", community_id)
    return AccessPoint.objects.filter(community_id=community_id, enabled=True).order_by(
        "kind", "code"
    )


def list_own_visitors(actor: Actor, person: Person, community_id: int) -> QuerySet[Visitor]:
    """The visitors a resident invited in a community, newest first."""
    actor.require("pass.own", community_id)
    return (
        Visitor.objects.filter(community_id=community_id, host=person)
        .prefetch_related("points")
        .order_by("-starts_at", "-pk")
    )


def get_visitor(actor: Actor, visitor_id: int) -> Visitor:
    """A visitor the actor manages (``visitor.manage``) or invited, or raise NotFound."""
    visitor = Visitor.objects.filter(pk=visitor_id).first()
    if visitor is None:
        raise errors.NotFound()
    if actor.can("visitor.manage", visitor.community_id):
        return visitor
    person, mine = own_pass_communities(actor)
    if person is None or visitor.community_id not in mine or visitor.host_id != person.pk:
        raise errors.NotFound()
    return visitor
