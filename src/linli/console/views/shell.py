"""The console shell: sign-in, sign-out, community switcher, dashboard, error pages."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console.context import SESSION_KEY, current_community_id
from linli.console.views.common import community_overview, console_actor
from linli.core import context as request_context
from linli.core import errors
from linli.core.actions import do_record_sign_in
from linli.core.auth import (
    check_login_allowed,
    clear_login_failures,
    record_login_failure,
    request_actor,
)
from linli.core.tenancy import Actor
from linli.people import browse
from linli.places import selectors as place_selectors
from linli.places import stats


def sign_in(request: HttpRequest) -> HttpResponse:
    """Show the sign-in form and sign a user in, throttling repeated failures."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    error = ""
    username = ""
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        ip = request_context.current().client_ip
        try:
            check_login_allowed(username, ip)
        except errors.Throttled as exc:
            error, status = str(exc.message), 429
        else:
            user = authenticate(request, username=username, password=password)
            if user is None:
                record_login_failure(username, ip)
                error, status = _("用户名或密码错误。"), 200
            else:
                clear_login_failures(username)
                login(request, user)
                do_record_sign_in(Actor.for_user(user), success=True, username=username)
                return HttpResponseRedirect(next_url or reverse("console:dashboard"))
    return render(
        request,
        "console/login.html",
        {"error": error, "username": username, "next": next_url},
        status=status,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign the user out."""
    actor = request_actor(request)
    if actor is not None:
        do_record_sign_in(actor, success=False, username=actor.label)
    logout(request)
    return redirect("console:login")


@login_required
@require_POST
def switch_community(request: HttpRequest) -> HttpResponse:
    """Make another visible community the current one."""
    actor = console_actor(request)
    try:
        community = place_selectors.get_community(actor, int(request.POST.get("community", "")))
    except (ValueError, errors.NotFound):
        raise errors.NotFound() from None
    request.session[SESSION_KEY] = community.pk
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("console:dashboard")
    return HttpResponseRedirect(next_url)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the current community's counts, map and charts."""
    actor = console_actor(request)
    community_id = current_community_id(request)
    if community_id is None:
        return render(request, "console/dashboard.html", {"counts": {}, "community": None})
    community = place_selectors.get_community(actor, community_id)
    counts = stats.community_counts(actor, community_id)
    overview = community_overview(actor, community)
    lease_alerts = (
        browse.lease_alerts(actor, community_id, today=timezone.localdate())
        if actor.can("person.view", community_id)
        else None
    )
    return render(
        request,
        "console/dashboard.html",
        {
            "counts": counts,
            "community": community,
            "map": overview.map,
            "charts": overview.charts,
            "lease_alerts": lease_alerts,
            "faces": _faces(actor, community_id),
        },
    )


def _faces(actor: Actor, community_id: int) -> dict[str, int] | None:
    """People with face data stored: in the community and on the whole platform (the
    2025 rules ask for a filing once a platform holds 100,000 people's face data)."""
    if not actor.can("credential.view", community_id):
        return None
    from linli.biometrics import selectors

    return {
        **selectors.stored_faces_here_and_all(community_id),
        "filing": selectors.FILING_THRESHOLD,
    }


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    # The page's heading follows the status (see console/error.html), as it does for the
    # domain errors that LinliErrorMiddleware renders with the same template.
    return render(
        request, "console/error.html", {"status": status, "message": message}, status=status
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Friendly 403 page."""
    return _error(request, 403, _("您没有访问此页面的权限。如需访问，请联系物业管理员。"))


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Friendly 404 page."""
    return _error(request, 404, _("您要找的页面不存在，或您无权查看。"))


def error_500(request: HttpRequest) -> HttpResponse:
    """Friendly 500 page (rendered without the request's database state)."""
    return render(
        request,
        "console/error_500.html",
        {"request_id": getattr(request, "request_id", "")},
        status=500,
    )
