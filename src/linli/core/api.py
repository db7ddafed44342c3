"""API of the core domain: me, organisations, grants, audit, tokens (thin; see actions)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.core import actions, errors, selectors
from linli.core.models import ApiToken, Grant, Organisation
from linli.core.schemas import (
    AuditOut,
    GrantIn,
    GrantOut,
    MeGrantOut,
    MeOut,
    OrganisationIn,
    OrganisationOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
)

router = Router(tags=["core"])


@router.get("/me", response={200: MeOut, **ERRORS})
def me(request: HttpRequest) -> MeOut:
    """Return the caller and their roles."""
    a = actor(request)
    if a.user is None:
        raise errors.NotAuthenticated()
    keys = sorted(a.permissions, key=lambda k: (k is not None, k or 0))
    return MeOut(
        id=a.user.pk,
        username=a.user.username,
        display_name=a.user.display_name,
        organisation_id=a.user.organisation_id,
        grants=[
            MeGrantOut(
                community_id=k,
                roles=sorted(a.roles.get(k, ())),
                permissions=sorted(a.permissions[k]),
            )
            for k in keys
        ],
    )


@router.get("/organisations", response={200: list[OrganisationOut], **ERRORS})
@paginate(PagePagination)
def list_organisations(request: HttpRequest, q: str = "") -> object:
    """List organisations the caller may see."""
    return selectors.list_organisations(actor(request), q=q)


@router.get("/organisations/{organisation_id}", response={200: OrganisationOut, **ERRORS})
def get_organisation(request: HttpRequest, organisation_id: int) -> Organisation:
    """Return one organisation."""
    return selectors.get_organisation(actor(request), organisation_id)


@router.post("/organisations", response={201: OrganisationOut, **ERRORS})
def create_organisation(request: HttpRequest, body: OrganisationIn) -> tuple[int, Organisation]:
    """Create an organisation (platform administrators)."""
    return 201, actions.do_create_organisation(actor(request), **body.dict())


@router.get("/grants", response={200: list[GrantOut], **ERRORS})
@paginate(PagePagination)
def list_grants(request: HttpRequest, community_id: int | None = None) -> object:
    """List grants the caller may see."""
    return selectors.list_grants(actor(request), community_id=community_id)


@router.post("/grants", response={201: GrantOut, **ERRORS})
def give_grant(request: HttpRequest, body: GrantIn) -> tuple[int, Grant]:
    """Give a role on a community to a user or an organisation."""
    a = actor(request)
    user, org = selectors.resolve_grant_holder(body.user_id, body.organisation_id)
    grant = actions.do_give_grant(
        a, community_id=body.community_id, role=body.role, user=user, organisation=org
    )
    return 201, grant


@router.delete("/grants/{grant_id}", response={204: None, **ERRORS})
def withdraw_grant(request: HttpRequest, grant_id: int) -> tuple[int, None]:
    """Withdraw a grant."""
    a = actor(request)
    actions.do_withdraw_grant(a, selectors.get_grant(a, grant_id))
    return 204, None


@router.get("/audit", response={200: list[AuditOut], **ERRORS})
@paginate(PagePagination)
def list_audit(
    request: HttpRequest,
    community_id: int | None = None,
    action: str = "",
    sensitive: bool | None = None,
) -> object:
    """Read the audit log (newest first)."""
    rows: object = selectors.list_audit(
        actor(request), community_id=community_id, action=action, sensitive=sensitive
    )
    return rows


@router.get("/tokens", response={200: list[TokenOut], **ERRORS})
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    """List the caller's API tokens."""
    return list(selectors.list_api_tokens(actor(request)))


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS})
def create_token(request: HttpRequest, body: TokenIn) -> tuple[int, dict[str, object]]:
    """Create an API token; the secret is in this response only."""
    token, raw = actions.do_create_api_token(actor(request), **body.dict())
    out = TokenOut.from_orm(token).dict()
    out["token"] = raw
    return 201, out


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS})
def revoke_token(request: HttpRequest, token_id: int) -> tuple[int, None]:
    """Revoke one of the caller's tokens."""
    a = actor(request)
    actions.do_revoke_api_token(a, selectors.get_api_token(a, token_id))
    return 204, None
