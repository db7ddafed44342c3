"""API schemas of the core domain."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class GrantOut(Schema):
    """A role held on a community."""

    id: int
    community_id: int | None
    role: str
    role_label: str = Field(alias="get_role_display")
    user_id: int | None
    organisation_id: int | None
    created_at: dt.datetime


class GrantIn(Schema):
    """Give a role to a user or an organisation."""

    community_id: int | None = None
    role: str
    user_id: int | None = None
    organisation_id: int | None = None


class MeGrantOut(Schema):
    """One of the caller's roles."""

    community_id: int | None
    roles: list[str]
    permissions: list[str]


class MeOut(Schema):
    """The caller."""

    id: int
    username: str
    display_name: str
    organisation_id: int | None
    grants: list[MeGrantOut]


class OrganisationOut(Schema):
    """An organisation."""

    id: int
    name: str
    type: str
    type_label: str = Field(alias="get_type_display")
    credit_code: str
    is_active: bool


class OrganisationIn(Schema):
    """A new organisation."""

    name: str = Field(min_length=1, max_length=200)
    type: str
    credit_code: str = Field("", max_length=18)
    contact_phone: str = Field("", max_length=32)


class AuditOut(Schema):
    """One audit row."""

    id: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    community_id: int | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, object]
    sensitive: bool
    request_id: str
    client_ip: str | None


class TokenIn(Schema):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    read_only: bool = False
    expires_at: dt.datetime | None = None


class TokenOut(Schema):
    """An API token (never its secret)."""

    id: int
    name: str
    prefix: str
    read_only: bool
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    """A freshly created token: ``token`` is shown this once and never again."""

    token: str
