"""Tenant-scoped reads of the core domain."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.core import errors
from linli.core.models import ApiToken, AuditLog, Grant, Organisation, User
from linli.core.tenancy import Actor, ScopedQuerySet


def list_grants(actor: Actor, *, community_id: int | None = None) -> ScopedQuerySet[Grant]:
    """Return the grants the actor may see, newest first."""
    qs = Grant.objects.restrict(actor, "grant.view").select_related(
        "community", "user", "organisation"
    )
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    return qs


def get_grant(actor: Actor, grant_id: int) -> Grant:
    """Return one visible grant or raise :class:`NotFound`."""
    return list_grants(actor).one_or_404(grant_id)


def list_organisations(actor: Actor, *, q: str = "") -> QuerySet[Organisation]:
    """Return organisations holding grants where the actor may see organisations, and its own."""
    qs = Organisation.objects.all()
    scope = actor.scope("organisation.view")
    if not scope.everywhere:
        own = actor.user.organisation_id if actor.user is not None else None
        qs = qs.filter(Q(grants__community_id__in=scope.community_ids) | Q(pk=own)).distinct()
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def get_organisation(actor: Actor, organisation_id: int) -> Organisation:
    """Return one visible organisation or raise :class:`NotFound`."""
    org = list_organisations(actor).filter(pk=organisation_id).first()
    if org is None:
        raise errors.NotFound()
    return org


def list_audit(
    actor: Actor,
    *,
    community_id: int | None = None,
    action: str = "",
    actor_label: str = "",
    sensitive: bool | None = None,
) -> ScopedQuerySet[AuditLog]:
    """Return audit rows the actor may read, newest first."""
    qs = AuditLog.objects.restrict(actor, "audit.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if action:
        qs = qs.filter(action__startswith=action)
    if actor_label:
        qs = qs.filter(actor_label__icontains=actor_label)
    if sensitive is not None:
        qs = qs.filter(sensitive=sensitive)
    return qs


def list_api_tokens(actor: Actor) -> QuerySet[ApiToken]:
    """Return the acting user's API tokens."""
    if actor.user is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=actor.user)


def get_api_token(actor: Actor, token_id: int) -> ApiToken:
    """Return one of the acting user's tokens or raise :class:`NotFound`."""
    token = list_api_tokens(actor).filter(pk=token_id).first()
    if token is None:
        raise errors.NotFound()
    return token


def search_grants(
    actor: Actor, *, community_id: int | None = None, role: str = "", q: str = ""
) -> QuerySet[Grant]:
    """Return visible grants, optionally of one role and whose holder's name matches ``q``."""
    qs = list_grants(actor, community_id=community_id)
    if role:
        qs = qs.filter(role=role)
    if q:
        qs = qs.filter(
            Q(user__username__icontains=q)
            | Q(user__display_name__icontains=q)
            | Q(organisation__name__icontains=q)
        )
    return qs


def get_audit_entry(actor: Actor, entry_id: int) -> AuditLog:
    """Return one audit row the actor may read or raise :class:`NotFound`."""
    return list_audit(actor).one_or_404(entry_id)


def get_user_by_username(actor: Actor, username: str) -> User:
    """Return the active user with exactly this name, for an actor who may give grants.

    Only an exact name matches, so the lookup names one account and lists none.
    """
    scope = actor.scope("grant.manage")
    if not (scope.everywhere or scope.community_ids):
        raise errors.PermissionDenied()
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None or not username.strip():
        raise errors.NotFound()
    return user


def resolve_grant_holder(
    user_id: int | None, organisation_id: int | None
) -> tuple[User | None, Organisation | None]:
    """Return the active user and/or organisation named by id, or raise ``ValidationFailed``."""
    user = org = None
    if user_id is not None:
        user = User.objects.filter(pk=user_id, is_active=True).order_by().first()
        if user is None:
            raise errors.ValidationFailed(details={"user_id": [_("没有这个用户。")]})
    if organisation_id is not None:
        org = Organisation.objects.filter(pk=organisation_id, is_active=True).order_by().first()
        if org is None:
            raise errors.ValidationFailed(details={"organisation_id": [_("没有这个组织。")]})
    return user, org
