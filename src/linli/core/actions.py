"""The only writers of the core domain. Each ``do_x`` checks, writes, audits, publishes."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit, errors, events
from linli.core.auth import new_token_material, token_digest
from linli.core.choices import OrganisationType, Role
from linli.core.models import ApiToken, Grant, Organisation, User
from linli.core.roles import GLOBAL_ROLES
from linli.core.tenancy import Actor
from linli.core.validation import full_clean, messages_of


def _require_everywhere(actor: Actor, perm: str) -> None:
    if not actor.scope(perm).everywhere:
        raise errors.PermissionDenied()


# -- organisations ------------------------------------------------------------------------


def check_create_organisation(actor: Actor, *, name: str, type: str) -> None:
    """Validate and authorise a new organisation."""
    _require_everywhere(actor, "organisation.manage")
    if type not in OrganisationType.values:
        raise errors.ValidationFailed(details={"type": [_("未知的组织类型。")]})
    if Organisation.objects.filter(name=name, type=type).exists():
        raise errors.Conflict(
            _("同名同类型的组织已存在。"), code="duplicate_organisation", details={"name": [name]}
        )


def do_create_organisation(
    actor: Actor, *, name: str, type: str, credit_code: str = "", contact_phone: str = ""
) -> Organisation:
    """Create an organisation (platform administrators only)."""
    check_create_organisation(actor, name=name, type=type)
    with transaction.atomic():
        org = Organisation(
            name=name, type=type, credit_code=credit_code, contact_phone=contact_phone
        )
        full_clean(org)
        org.save()
        audit.record(
            actor,
            "core.organisation.create",
            org,
            changes=audit.diff({}, audit.snapshot(org, ["name", "type", "credit_code"])),
        )
    return org


# -- users --------------------------------------------------------------------------------


def do_create_user(
    actor: Actor,
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    organisation: Organisation | None = None,
    email: str = "",
) -> User:
    """Create a sign-in account (platform administrators, or the CLI's system actor)."""
    _require_everywhere(actor, "organisation.manage")
    if User.objects.filter(username__iexact=username).exists():
        raise errors.Conflict(
            _("用户名已被使用。"), code="duplicate_username", details={"username": [username]}
        )
    user = User(
        username=username, display_name=display_name, organisation=organisation, email=email
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise errors.ValidationFailed(
                details={"password": messages_of(exc)["__all__"]}
            ) from exc
        user.set_password(password)
    with transaction.atomic():
        full_clean(user, exclude=["password"])
        user.save()
        audit.record(
            actor,
            "core.user.create",
            user,
            changes=audit.diff({}, audit.snapshot(user, ["username", "organisation"])),
        )
    return user


# -- grants -------------------------------------------------------------------------------


def check_give_grant(
    actor: Actor,
    *,
    community_id: int | None,
    role: str,
    user: User | None,
    organisation: Organisation | None,
) -> None:
    """Validate and authorise giving ``role`` on a community."""
    if role not in Role.values:
        raise errors.ValidationFailed(details={"role": [_("未知的角色。")]})
    if (user is None) == (organisation is None):
        raise errors.ValidationFailed(
            _("授权对象必须是一个用户或一个组织。"), details={"holder": [_("二选一。")]}
        )
    if role in GLOBAL_ROLES or community_id is None:
        _require_everywhere(actor, "grant.manage")
        if community_id is None and role not in GLOBAL_ROLES:
            raise errors.ValidationFailed(details={"community": [_("该角色必须指定社区。")]})
    else:
        actor.require("grant.manage", community_id)
    existing = Grant.objects.filter(role=role)
    existing = (
        existing.filter(community__isnull=True)
        if community_id is None
        else existing.filter(community_id=community_id)
    )
    existing = existing.filter(user=user) if user else existing.filter(organisation=organisation)
    if existing.exists():
        raise errors.Conflict(_("该授权已存在。"), code="duplicate_grant")


def do_give_grant(
    actor: Actor,
    *,
    community_id: int | None,
    role: str,
    user: User | None = None,
    organisation: Organisation | None = None,
) -> Grant:
    """Give a user or organisation a role on a community."""
    check_give_grant(
        actor, community_id=community_id, role=role, user=user, organisation=organisation
    )
    with transaction.atomic():
        try:
            grant = Grant.objects.create(
                community_id=community_id,
                role=role,
                user=user,
                organisation=organisation,
                granted_by=actor.user,
            )
        except IntegrityError as exc:
            raise errors.Conflict(_("该授权已存在。"), code="duplicate_grant") from exc
        audit.record(
            actor,
            "core.grant.give",
            grant,
            community_id=community_id,
            changes=audit.diff(
                {}, audit.snapshot(grant, ["community", "role", "user", "organisation"])
            ),
        )
        events.publish(
            events.GrantChanged(
                grant.pk, community_id, role, grant.user_id, grant.organisation_id, True
            )
        )
    return grant


def do_withdraw_grant(actor: Actor, grant: Grant) -> None:
    """Withdraw a grant."""
    if grant.community_id is None or grant.role in GLOBAL_ROLES:
        _require_everywhere(actor, "grant.manage")
    else:
        actor.require("grant.manage", grant.community_id)
    with transaction.atomic():
        before = audit.snapshot(grant, ["community", "role", "user", "organisation"])
        grant_id = grant.pk
        audit.record(
            actor,
            "core.grant.withdraw",
            grant,
            community_id=grant.community_id,
            changes=audit.diff(before, {}),
        )
        grant.delete()
        events.publish(
            events.GrantChanged(
                grant_id,
                grant.community_id,
                grant.role,
                grant.user_id,
                grant.organisation_id,
                False,
            )
        )


# -- API tokens ---------------------------------------------------------------------------


def do_create_api_token(
    actor: Actor, *, name: str, read_only: bool = False, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create an API token for the acting user; return it and the secret (shown once)."""
    if actor.user is None:
        raise errors.PermissionDenied(_("只有用户可以创建 API 令牌。"))
    name = name.strip()
    if not name or len(name) > 100:
        raise errors.ValidationFailed(details={"name": [_("名称为 1 到 100 个字符。")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.ValidationFailed(details={"expires_at": [_("过期时间必须晚于现在。")]})
    prefix, secret, raw = new_token_material()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor.user,
            name=name,
            prefix=prefix,
            digest=token_digest(secret),
            read_only=read_only,
            expires_at=expires_at,
        )
        audit.record(
            actor,
            "core.api_token.create",
            token,
            changes={"name": [None, name], "read_only": [None, read_only]},
        )
    return token, raw


def do_revoke_api_token(actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke one of the acting user's tokens (platform administrators: anyone's)."""
    if token.user_id != getattr(actor.user, "pk", None):
        _require_everywhere(actor, "grant.manage")
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor,
            "core.api_token.revoke",
            token,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )
    return token


# -- sign-in ------------------------------------------------------------------------------


def do_record_sign_in(actor: Actor, *, success: bool, username: str) -> None:
    """Audit a sign-in or a sign-out."""
    audit.record(
        actor,
        "core.sign_in" if success else "core.sign_out",
        object_type="core.user",
        object_id=str(getattr(actor.user, "pk", "")),
        object_repr=username,
    )
