"""Sign-in throttling, API tokens, and the actor behind a request."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from linli.core import errors
from linli.core.models import ApiToken, LoginFailure, User
from linli.core.tenancy import Actor

TOKEN_PREFIX = "lnl"  # noqa: S105  (a label, not a secret)


def request_actor(request: HttpRequest) -> Actor | None:
    """Return the actor of a request (session user or API token), loaded once."""
    if hasattr(request, "_linli_actor"):
        cached: Actor | None = request._linli_actor
        return cached
    user = getattr(request, "user", None)
    actor = Actor.for_user(user) if user is not None and user.is_authenticated else None
    request._linli_actor = actor  # type: ignore[attr-defined]
    return actor


def set_request_actor(request: HttpRequest, actor: Actor) -> None:
    """Make ``actor`` the request's actor (used by token authentication)."""
    request._linli_actor = actor  # type: ignore[attr-defined]


# -- sign-in throttling -------------------------------------------------------------------


def _window() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.LINLI_LOGIN_LOCKOUT_SECONDS)


def check_login_allowed(username: str, ip: str | None) -> None:
    """Raise :class:`~linli.core.errors.Throttled` after too many recent failures.

    Failures count per user name and, four times as generously, per client IP, so one
    address cannot spray passwords over many accounts either.
    """
    limit = settings.LINLI_LOGIN_MAX_FAILURES
    recent = LoginFailure.objects.filter(created_at__gte=_window())
    by_name = recent.filter(username=username.lower()).count()
    by_ip = recent.filter(client_ip=ip).count() if ip else 0
    if by_name >= limit or by_ip >= 4 * limit:
        raise errors.Throttled(
            details={"retry_after_seconds": settings.LINLI_LOGIN_LOCKOUT_SECONDS}
        )


def record_login_failure(username: str, ip: str | None) -> None:
    """Remember one failed sign-in."""
    LoginFailure.objects.create(username=username.lower()[:150], client_ip=ip)


def clear_login_failures(username: str) -> None:
    """Forget a user's failures after a successful sign-in."""
    LoginFailure.objects.filter(username=username.lower()).delete()


# -- API tokens ---------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_material() -> tuple[str, str, str]:
    """Return ``(prefix, secret, full_token)`` for a new API token."""
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    return prefix, secret, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def token_digest(secret: str) -> str:
    """Return the stored digest of a token secret (tokens are random: SHA-256 suffices)."""
    return _digest(secret)


def authenticate_token(raw: str) -> ApiToken | None:
    """Return the live token matching ``raw``, or ``None``."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, prefix, secret = parts
    now = timezone.now()
    # The prefix is unique: no ordering, and the user's password hash is not needed.
    token = next(
        iter(
            ApiToken.objects.select_related("user")
            .defer("user__password")
            .filter(prefix=prefix, revoked_at__isnull=True, user__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by()[:1]
        ),
        None,
    )
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def actor_for_token(token: ApiToken) -> Actor:
    """Return the actor a token acts as: its user's grants, read-only if the token says so."""
    user: User = token.user
    return Actor.for_user(user, read_only=token.read_only)
