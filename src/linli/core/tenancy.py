"""Who is acting, on which communities, with which permissions.

Every read goes through ``Model.objects.restrict(actor, perm)`` (or a selector built on it)
and every write through an action that calls :meth:`Actor.require`. A model opts in by
naming the path from itself to its community id in ``scope_field``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models
from django.db.models import Q

from linli.core import errors
from linli.core.roles import check_known, permissions_for

if TYPE_CHECKING:
    from linli.core.models import User

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Scope:
    """The communities where an actor holds a permission: all of them, or these ids."""

    everywhere: bool
    community_ids: frozenset[int]

    def allows(self, community_id: int | None) -> bool:
        """Say whether the scope covers ``community_id``."""
        return self.everywhere or (community_id is not None and community_id in self.community_ids)


@dataclass
class Actor:
    """The user (or system process) on whose behalf code reads and writes."""

    label: str
    user: User | None = None
    read_only: bool = False
    # community id -> permissions; the key ``None`` holds permissions on every community.
    permissions: dict[int | None, frozenset[str]] = field(default_factory=dict)
    roles: dict[int | None, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def for_user(cls, user: User, *, read_only: bool = False) -> Actor:
        """Build the actor for ``user`` from its own and its organisation's grants."""
        from linli.core.models import Grant

        holder = Q(user=user)
        if user.organisation_id is not None:
            holder |= Q(organisation_id=user.organisation_id, organisation__is_active=True)
        perms: dict[int | None, set[str]] = {}
        roles: dict[int | None, set[str]] = {}
        if user.is_active:
            for community_id, role in (
                Grant.objects.filter(holder).order_by().values_list("community_id", "role")
            ):
                perms.setdefault(community_id, set()).update(permissions_for(role))
                roles.setdefault(community_id, set()).add(role)
        return cls(
            label=user.get_username(),
            user=user,
            read_only=read_only,
            permissions={k: frozenset(v) for k, v in perms.items()},
            roles={k: frozenset(v) for k, v in roles.items()},
        )

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Return an actor with every permission, for the CLI, seeding and the worker."""
        from linli.core.roles import PERMISSIONS

        return cls(label=label, permissions={None: frozenset(PERMISSIONS)})

    @property
    def is_platform_admin(self) -> bool:
        """Say whether the actor holds a grant on every community."""
        return None in self.permissions

    def scope(self, perm: str) -> Scope:
        """Return where the actor holds ``perm``."""
        check_known(perm)
        if perm in self.permissions.get(None, frozenset()):
            return Scope(everywhere=True, community_ids=frozenset())
        ids = frozenset(
            cid for cid, perms in self.permissions.items() if cid is not None and perm in perms
        )
        return Scope(everywhere=False, community_ids=ids)

    def can(self, perm: str, community_id: int | None) -> bool:
        """Say whether the actor holds ``perm`` on ``community_id``."""
        return self.scope(perm).allows(community_id)

    def require(self, perm: str, community_id: int | None) -> None:
        """Raise unless the actor may use ``perm`` on ``community_id``.

        An actor who cannot even see the community gets :class:`NotFound`, so a probe
        cannot tell another tenant's object from a missing one.
        """
        if not self.can(perm, community_id):
            if community_id is not None and not self.can("community.view", community_id):
                raise errors.NotFound()
            raise errors.PermissionDenied()
        if self.read_only and not perm.endswith((".view", ".view_own")):
            raise errors.PermissionDenied(code="read_only_token")

    def community_ids(self, perm: str = "community.view") -> frozenset[int] | None:
        """Return the community ids where the actor holds ``perm`` (``None`` means all)."""
        scope = self.scope(perm)
        return None if scope.everywhere else scope.community_ids

    def roles_on(self, community_id: int | None) -> frozenset[str]:
        """Return the roles the actor holds on a community (global roles included)."""
        return self.roles.get(None, frozenset()) | self.roles.get(community_id, frozenset())


class ScopedQuerySet(models.QuerySet[M], Generic[M]):
    """A queryset that can restrict itself to what an actor may see."""

    def restrict(self, actor: Actor, perm: str) -> ScopedQuerySet[M]:
        """Keep only rows in communities where ``actor`` holds ``perm``."""
        scope = actor.scope(perm)
        if scope.everywhere:
            return self
        path: str = self.model.scope_field  # type: ignore[attr-defined]
        return self.filter(**{f"{path}__in": scope.community_ids})

    def one(self, pk: object) -> M | None:
        """Return the row with primary key ``pk`` in this queryset, or ``None`` (unsorted)."""
        return next(iter(self.filter(pk=pk).order_by()[:1]), None)

    def one_or_404(self, pk: object) -> M:
        """Return the row with primary key ``pk`` or raise :class:`NotFound`."""
        row = self.one(pk)
        if row is None:
            raise errors.NotFound()
        return row


def only_ids(values: Iterable[Any]) -> list[int]:
    """Return the integer ids in ``values`` (silently dropping anything else)."""
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out
