"""Visitors (访客): invitations by residents, walk-ins at the front desk, their passes.

An invitation makes a :class:`Visitor` with a time window and the access points it opens,
a 一码通 credential of its own, and a private link (shown once, kept as a hash) where the
visitor's phone shows a rotating QR pass without signing in. At a door the pass is
decided like any other (:mod:`linli.access.decisions`): only the named points, only
inside the window. A visitor's first allowed passage marks them arrived; cancelling or
the end of the window ends the pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access import keys, passes, queries, sync
from linli.access.choices import CredentialKind, CredentialStatus, VisitorStatus
from linli.access.models import AccessPoint, Credential, Visitor
from linli.core import audit, crypto, errors
from linli.core.tenancy import Actor
from linli.people.identity import mask_phone, normalise_phone
from linli.people.models import Person

MAX_VISIT = dt.timedelta(days=7)
EARLIEST_START = dt.timedelta(minutes=10)  # a start this far in the past is accepted
PASS_LIFETIME = 30
OPEN_STATUSES = (VisitorStatus.INVITED, VisitorStatus.ARRIVED)


def _link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def own_person(actor: Actor, community_id: int) -> Person:
    """The person behind a resident's account, who must belong to the community."""
    person, mine = queries.own_pass_communities(actor)
    if person is None or community_id not in mine:
        raise errors.NotFound()
    return person


def _check(
    community_id: int,
    *,
    name: str,
    phone: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    point_ids: list[int],
) -> tuple[str, list[AccessPoint]]:
    details: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 100:
        details["name"] = [_("请填写访客姓名（不超过100字）。")]
    clean_phone = ""
    if phone.strip():
        try:
            clean_phone = normalise_phone(phone)
        except errors.ValidationFailed as exc:
            details.update(exc.details)
    now = timezone.now()
    if ends_at <= starts_at:
        details["ends_at"] = [_("结束时间须晚于开始时间。")]
    elif ends_at - starts_at > MAX_VISIT:
        details["ends_at"] = [_("一次来访最长7天。")]
    if starts_at < now - EARLIEST_START:
        details["starts_at"] = [_("开始时间不能早于现在。")]
    points = list(
        AccessPoint.objects.filter(pk__in=point_ids, community_id=community_id, enabled=True)
    )
    if not point_ids:
        details["point_ids"] = [_("请选择访客可通行的通行点。")]
    elif len(points) != len(set(point_ids)):
        details["point_ids"] = [_("通行点不存在或不属于本社区。")]
    if details:
        raise errors.ValidationFailed(details=details)
    return clean_phone, points


def do_invite_visitor(
    actor: Actor,
    community_id: int,
    *,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    point_ids: list[int],
    phone: str = "",
    purpose: str = "",
    host: Person | None = None,
) -> tuple[Visitor, str]:
    """Invite a visitor; return the visitor and the private link token (shown once).

    A resident (``pass.own``) invites for themselves; staff with ``visitor.manage`` may
    name any member of the community as host, or none.
    """
    if actor.can("visitor.manage", community_id):
        if host is not None and not host.memberships.filter(community_id=community_id).exists():
            raise errors.ValidationFailed(details={"host": [_("被访人不属于本社区。")]})
    else:
        actor.require("pass.own", community_id)
        host = own_person(actor, community_id)
    clean_phone, points = _check(
        community_id,
        name=name,
        phone=phone,
        starts_at=starts_at,
        ends_at=ends_at,
        point_ids=point_ids,
    )
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        visitor = Visitor.objects.create(
            community_id=community_id,
            host=host,
            name=name.strip(),
            phone_sealed=crypto.seal(clean_phone, "access.visitor_phone") if clean_phone else "",
            phone_masked=mask_phone(clean_phone) if clean_phone else "",
            purpose=purpose.strip()[:100],
            starts_at=starts_at,
            ends_at=ends_at,
            link_hash=_link_hash(token),
            created_by=actor.user,
        )
        visitor.points.set(points)
        sync.touch(community_id, visitors=[visitor.pk])
        Credential.objects.create(
            community_id=community_id,
            visitor=visitor,
            kind=CredentialKind.QR,
            valid_from=starts_at,
            valid_until=ends_at,
        )
        audit.record(
            actor,
            "access.visitor.invite",
            visitor,
            community_id=community_id,
            changes={
                "host": [None, host.pk if host else None],
                "window": [None, [starts_at.isoformat(), ends_at.isoformat()]],
                "points": [None, sorted(p.pk for p in points)],
            },
        )
    return visitor, token


def do_register_walk_in(
    actor: Actor,
    community_id: int,
    *,
    name: str,
    point_ids: list[int],
    hours: int = 2,
    phone: str = "",
    purpose: str = "",
    host: Person | None = None,
) -> tuple[Visitor, str]:
    """Register a visitor at the front desk (现场登记): arrived now, valid ``hours``."""
    actor.require("visitor.manage", community_id)
    if not 1 <= hours <= 24:
        raise errors.ValidationFailed(details={"hours": [_("时长须为1–24小时。")]})
    now = timezone.now()
    visitor, token = do_invite_visitor(
        actor,
        community_id,
        name=name,
        phone=phone,
        purpose=purpose,
        host=host,
        starts_at=now,
        ends_at=now + dt.timedelta(hours=hours),
        point_ids=point_ids,
    )
    Visitor.objects.filter(pk=visitor.pk).update(
        walk_in=True, status=VisitorStatus.ARRIVED, arrived_at=now
    )
    visitor.refresh_from_db()
    return visitor, token


def _end(visitor: Visitor, status: str, now: dt.datetime) -> None:
    fields = {"status": status}
    if status == VisitorStatus.LEFT:
        fields["left_at"] = now  # type: ignore[assignment]
    Visitor.objects.filter(pk=visitor.pk).update(**fields)
    Credential.objects.filter(visitor=visitor).exclude(status=CredentialStatus.REVOKED).update(
        status=CredentialStatus.REVOKED, status_reason=f"visitor_{status}", changed_at=now
    )
    sync.touch(visitor.community_id, visitors=[visitor.pk])


def _may_change(actor: Actor, visitor: Visitor) -> None:
    if actor.can("visitor.manage", visitor.community_id):
        return
    actor.require("pass.own", visitor.community_id)
    if visitor.host_id != own_person(actor, visitor.community_id).pk:
        raise errors.NotFound()


def do_cancel_visitor(actor: Actor, visitor: Visitor) -> Visitor:
    """Cancel an invitation (its host or the front desk); the pass stops working."""
    _may_change(actor, visitor)
    return _close(actor, visitor, VisitorStatus.CANCELLED, _("该访客已结束，无法取消。"))


def do_visitor_left(actor: Actor, visitor: Visitor) -> Visitor:
    """Record that a visitor left (front desk); the pass stops working."""
    actor.require("visitor.manage", visitor.community_id)
    return _close(actor, visitor, VisitorStatus.LEFT, _("该访客已结束。"))


def _close(actor: Actor, visitor: Visitor, status: str, closed_message: str) -> Visitor:
    if visitor.status not in OPEN_STATUSES:
        raise errors.Conflict(closed_message, code="visitor_closed")
    with transaction.atomic():
        _end(visitor, status, timezone.now())
        audit.record(
            actor,
            "access.visitor.cancel"
            if status == VisitorStatus.CANCELLED
            else "access.visitor.leave",
            visitor,
            community_id=visitor.community_id,
            changes={"status": [visitor.status, status]},
        )
    visitor.refresh_from_db()
    return visitor


def expire_visitors(now: dt.datetime | None = None) -> int:
    """End the passes of visitors whose window is over; return how many."""
    now = now or timezone.now()
    ended = 0
    for visitor in Visitor.objects.filter(status__in=OPEN_STATUSES, ends_at__lte=now)[:500]:
        with transaction.atomic():
            _end(visitor, VisitorStatus.EXPIRED, now)
        ended += 1
    return ended


class LinkRefused(Exception):
    """A visitor link that shows no pass; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def by_link(token: str) -> Visitor:
    """The visitor of a private link, or :class:`LinkRefused` (``unknown``)."""
    if not token or len(token) > 64:
        raise LinkRefused("unknown")
    visitor = Visitor.objects.filter(link_hash=_link_hash(token)).select_related("host").first()
    if visitor is None:
        raise LinkRefused("unknown")
    return visitor


def visitor_pass(visitor: Visitor, now: dt.datetime | None = None) -> str:
    """Sign a fresh pass for a visitor inside their window, or :class:`LinkRefused`."""
    now = now or timezone.now()
    if visitor.status == VisitorStatus.CANCELLED:
        raise LinkRefused("cancelled")
    if visitor.status in (VisitorStatus.LEFT, VisitorStatus.EXPIRED) or now >= visitor.ends_at:
        raise LinkRefused("expired")
    if now < visitor.starts_at - EARLIEST_START:
        raise LinkRefused("not_yet")
    credential = Credential.objects.filter(
        visitor=visitor, kind=CredentialKind.QR, status=CredentialStatus.ACTIVE
    ).first()
    if credential is None:
        raise LinkRefused("expired")
    key_id, private = keys.cache.signer(visitor.community_id)
    return passes.issue(
        private,
        key_id=key_id,
        community_id=visitor.community_id,
        credential_id=credential.pk,
        issued_at=int(now.timestamp()),
        lifetime=PASS_LIFETIME,
        scope=passes.Scope.VISITOR | passes.Scope.DOOR,
    )
