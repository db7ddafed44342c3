"""Residents' 一码通 and visitors (我的通行码, 我的访客), and the visitor's own pass page.

The pass is drawn on the server as an inline SVG QR code and renewed by the page every
few seconds (each pass lives 30 s); the pages never cache. A visitor opens the private
link of their invitation without signing in and sees their own rotating pass there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from linli.access import actions, queries, visitors
from linli.access.choices import VisitorStatus
from linli.access.models import AccessPoint
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, no_store, require_somewhere
from linli.core import errors
from linli.core.tenancy import Actor
from linli.people.models import Person
from linli.places.models import Community

RENEW_SECONDS = 20  # the page asks for a new pass this often (a pass lives 30 s)


def _svg(text: str) -> str:
    """The pass as an inline SVG QR code (dark modules on white, scalable)."""
    return str(
        segno.make(text, error="m", micro=False).svg_inline(
            scale=6, border=4, dark="#111", light="#fff", omitsize=True
        )
    )


def _own(actor: Actor, request: HttpRequest) -> tuple[Person | None, list[Any], int | None]:
    """The resident's person, their communities, and the one to show (current or first)."""
    person, mine = queries.own_pass_communities(actor)
    communities = list(Community.objects.filter(pk__in=mine).order_by("name"))
    wanted = request.GET.get("community", "")
    chosen = next((c.pk for c in communities if str(c.pk) == wanted), None)
    if chosen is None:
        current = current_community_id(request)
        chosen = next((c.pk for c in communities if c.pk == current), None)
    if chosen is None and communities:
        chosen = communities[0].pk
    return person, communities, chosen


def _code(person: Person, community_id: int) -> dict[str, Any]:
    actions.ensure_pass(person.pk, community_id)
    text = actions.show_pass(person.pk, community_id)
    return {"svg": _svg(text), "renew_in": RENEW_SECONDS, "lifetime": actions.PASS_LIFETIME}


@login_required
@require_GET
def my_pass(request: HttpRequest) -> HttpResponse:
    """Show the resident's rotating 一码通 (needs ``pass.own``)."""
    actor = console_actor(request)
    require_somewhere(actor, "pass.own")
    person, communities, chosen = _own(actor, request)
    context: dict[str, Any] = {"person": person, "pass_communities": communities}
    if person is not None and chosen is not None:
        context |= {"chosen": chosen, **_code(person, chosen)}
        context["code_url"] = reverse("console:my_pass_code") + f"?community={chosen}"
    return no_store(render(request, "console/residents/pass.html", context))


@login_required
@require_GET
def my_pass_code(request: HttpRequest) -> HttpResponse:
    """A fresh pass as JSON ``{svg, renew_in, lifetime}`` for the page to swap in."""
    actor = console_actor(request)
    require_somewhere(actor, "pass.own")
    person, _communities, chosen = _own(actor, request)
    if person is None or chosen is None:
        raise errors.NotFound()
    return no_store(JsonResponse(_code(person, chosen)))


class InviteForm(forms.Form):
    """A resident's invitation of a visitor."""

    name = forms.CharField(label=gettext_lazy("访客姓名"), max_length=100)
    phone = forms.CharField(label=gettext_lazy("手机号码"), max_length=20, required=False)
    purpose = forms.CharField(label=gettext_lazy("来访事由"), max_length=100, required=False)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("开始时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    hours = forms.IntegerField(label=gettext_lazy("时长（小时）"), min_value=1, max_value=168)
    points = forms.ModelMultipleChoiceField(
        label=gettext_lazy("可通行的通行点"),
        queryset=AccessPoint.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, actor: Actor, community_id: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["points"])
        field.queryset = queries.points_for_visitors(actor, community_id)


@login_required
def my_visitors(request: HttpRequest) -> HttpResponse:
    """List the resident's visitors and invite one (the link is shown once)."""
    actor = console_actor(request)
    require_somewhere(actor, "pass.own")
    person, communities, chosen = _own(actor, request)
    if person is None or chosen is None:
        return render(request, "console/residents/visitors.html", {"person": person})
    link = ""
    now = timezone.localtime().replace(second=0, microsecond=0)
    blank = {"starts_at": now.strftime("%Y-%m-%dT%H:%M"), "hours": 4}
    form = InviteForm(actor, chosen, initial=blank)
    if request.method == "POST":
        form = InviteForm(actor, chosen, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            starts = data["starts_at"]
            try:
                _visitor, token = visitors.do_invite_visitor(
                    actor,
                    chosen,
                    name=data["name"],
                    phone=data["phone"],
                    purpose=data["purpose"],
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(hours=data["hours"]),
                    point_ids=[p.pk for p in data["points"]],
                )
            except errors.ValidationFailed as exc:
                for field_name, problems in exc.details.items():
                    target = "points" if field_name == "point_ids" else field_name
                    target = target if target in form.fields else None
                    for problem in problems:
                        form.add_error(target, problem)
            else:
                link = request.build_absolute_uri(reverse("visitor_pass", args=[token]))
                messages.success(request, _("已邀请访客，请把下面的链接发给对方。"))
                form = InviteForm(actor, chosen, initial=blank)
    rows = list(queries.list_own_visitors(actor, person, chosen)[:50])
    return no_store(
        render(
            request,
            "console/residents/visitors.html",
            {
                "person": person,
                "pass_communities": communities,
                "chosen": chosen,
                "form": form,
                "link": link,
                "visitors": rows,
                "open_statuses": (VisitorStatus.INVITED, VisitorStatus.ARRIVED),
            },
        )
    )


@login_required
@require_POST
def my_visitor_cancel(request: HttpRequest, visitor_id: int) -> HttpResponse:
    """Cancel one of the resident's invitations."""
    actor = console_actor(request)
    visitor = queries.get_visitor(actor, visitor_id)
    visitors.do_cancel_visitor(actor, visitor)
    messages.success(request, _("已取消邀请，访客的通行码已失效。"))
    return redirect(reverse("console:my_visitors") + f"?community={visitor.community_id}")


# The visitor's own page (no sign-in) -------------------------------------------------------

_LINK_MESSAGES = {
    "unknown": gettext_lazy("链接无效。请向邀请您的住户确认。"),
    "cancelled": gettext_lazy("邀请已取消。"),
    "expired": gettext_lazy("邀请已过期。"),
    "not_yet": gettext_lazy("邀请尚未开始，请在来访时间再打开本页。"),
}


@require_GET
def visitor_pass(request: HttpRequest, token: str) -> HttpResponse:
    """A visitor's pass page: their rotating QR code inside their window, or why not."""
    try:
        visitor = visitors.by_link(token)
        text = visitors.visitor_pass(visitor)
    except visitors.LinkRefused as refused:
        page = render(
            request,
            "console/visitor_pass.html",
            {"problem": _LINK_MESSAGES[refused.code], "code": refused.code},
            status=404 if refused.code == "unknown" else 410,
        )
        return no_store(page)
    context = {
        "visitor": visitor,
        "community": visitor.community,
        "points": list(visitor.points.order_by("kind", "code")),
        "svg": _svg(text),
        "renew_in": RENEW_SECONDS,
        "code_url": reverse("visitor_pass_code", args=[token]),
    }
    return no_store(render(request, "console/visitor_pass.html", context))


@require_GET
def visitor_pass_code(request: HttpRequest, token: str) -> HttpResponse:
    """A fresh visitor pass as JSON, or ``{code}`` with 404/410 when it no longer works."""
    try:
        text = visitors.visitor_pass(visitors.by_link(token))
    except visitors.LinkRefused as refused:
        status = 404 if refused.code == "unknown" else 410
        return no_store(JsonResponse({"code": refused.code}, status=status))
    return no_store(JsonResponse({"svg": _svg(text), "renew_in": RENEW_SECONDS}))
