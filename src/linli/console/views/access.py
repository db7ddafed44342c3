"""Console pages of who may do what: organisations, grants and one's API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console import components
from linli.console.context import current_community_id
from linli.console.forms import ApiTokenForm, GrantForm
from linli.console.views.common import console_actor, no_store, require_somewhere
from linli.core import actions, errors, selectors
from linli.core.choices import Role
from linli.core.models import User
from linli.core.tenancy import Actor
from linli.places import selectors as place_selectors

# -- organisations ------------------------------------------------------------------------


@login_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    """List the organisations acting on the user's communities."""
    actor = console_actor(request)
    require_somewhere(actor, "organisation.view")
    listing = components.ListPage(request, search=_("组织名称"))
    listing.paginate(selectors.list_organisations(actor, q=listing.q))
    return render(request, "console/organisations/list.html", {"listing": listing})


# -- grants -------------------------------------------------------------------------------


def _grant_form(actor: Actor, data: object = None) -> GrantForm | None:
    """Return the give-grant form, or ``None`` if the actor may give grants nowhere."""
    scope = actor.scope("grant.manage")
    if not (scope.everywhere or scope.community_ids):
        return None
    communities = place_selectors.list_communities(actor, perm="grant.manage").only("id", "name")
    organisations = selectors.list_organisations(actor).only("id", "name")
    return GrantForm(
        data,
        communities=[(c.pk, c.name) for c in communities],
        organisations=[(o.pk, o.name) for o in organisations],
    )


def _give_grant(request: HttpRequest, actor: Actor, form: GrantForm) -> bool:
    """Give the grant the form describes; on failure leave the errors on the form."""
    if not form.is_valid():
        return False
    data = form.cleaned_data
    user: User | None = None
    if data["username"].strip():
        try:
            user = selectors.get_user_by_username(actor, data["username"])
        except errors.NotFound:
            form.add_error("username", _("没有这个用户。"))
            form.error_status = 422
            return False
    organisation = (
        selectors.get_organisation(actor, data["organisation"])
        if data["organisation"] is not None
        else None
    )
    grant = form.attempt(
        lambda: actions.do_give_grant(
            actor,
            community_id=data["community"],
            role=data["role"],
            user=user,
            organisation=organisation,
        )
    )
    if grant is None:
        return False
    messages.success(request, _("已授权：%(grant)s") % {"grant": grant})
    return True


@login_required
def grant_list(request: HttpRequest) -> HttpResponse:
    """List the current community's grants; give a grant (POST)."""
    actor = console_actor(request)
    require_somewhere(actor, "grant.view")
    form = _grant_form(actor, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form is None:
            raise errors.PermissionDenied()
        if _give_grant(request, actor, form):
            return redirect("console:grants")
    elif form is not None:
        form.initial["community"] = current_community_id(request)
    listing = components.ListPage(
        request,
        search=_("用户或组织"),
        filters=[components.Filter("role", _("角色"), Role.choices)],
    )
    listing.paginate(
        selectors.search_grants(
            actor,
            community_id=current_community_id(request),
            role=listing.value("role"),
            q=listing.q,
        )
    )
    return render(
        request,
        "console/grants/list.html",
        {"listing": listing, "form": form},
        status=form.error_status if form is not None else 200,
    )


@login_required
def grant_detail(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Show one grant, with a button to withdraw it for those who may."""
    actor = console_actor(request)
    grant = selectors.get_grant(actor, grant_id)
    return render(
        request,
        "console/grants/detail.html",
        {
            "grant": grant,
            "fields": components.describe(grant, ["community", "role", "created_at"]),
            "can_withdraw": actor.can("grant.manage", grant.community_id),
        },
    )


@login_required
@require_POST
def grant_withdraw(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Withdraw a grant (needs ``grant.manage``)."""
    actor = console_actor(request)
    grant = selectors.get_grant(actor, grant_id)
    label = str(grant)
    actions.do_withdraw_grant(actor, grant)
    messages.success(request, _("已撤回授权：%(grant)s") % {"grant": label})
    return redirect("console:grants")


# -- API tokens ---------------------------------------------------------------------------


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """List one's API tokens; create one (POST), showing its secret this once."""
    actor = console_actor(request)
    secret = ""
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        created = None
        if form.is_valid():
            created = form.attempt(
                lambda: actions.do_create_api_token(
                    actor,
                    name=form.cleaned_data["name"],
                    read_only=form.cleaned_data["read_only"],
                    expires_at=form.expires_at(),
                )
            )
        if created is not None:
            secret = created[1]
            form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    listing = components.ListPage(request).paginate(selectors.list_api_tokens(actor))
    response = render(
        request,
        "console/tokens/list.html",
        {"listing": listing, "form": form, "secret": secret, "now": timezone.now()},
        status=form.error_status,
    )
    return no_store(response) if secret else response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of one's API tokens."""
    actor = console_actor(request)
    token = selectors.get_api_token(actor, token_id)
    actions.do_revoke_api_token(actor, token)
    messages.success(request, _("令牌“%(name)s”已撤销。") % {"name": token.name})
    return redirect("console:tokens")
