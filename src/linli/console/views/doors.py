"""Console pages of access control (门禁通行): access points, one point, the live access log."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.access import queries, selectors
from linli.access.choices import CredentialKind, PointKind, Result
from linli.access.models import AccessPoint
from linli.console import components
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, require_somewhere
from linli.core.tenancy import Actor

LIVE_ROWS = 50
RECENT = 20
WHO_LIMIT = 100


def _day_start() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


@login_required
@require_GET
def point_list(request: HttpRequest) -> HttpResponse:
    """List the current community's access points with terminals and today's passages."""
    actor = console_actor(request)
    require_somewhere(actor, "access.view")
    listing = components.ListPage(
        request,
        search=_("编号或名称"),
        filters=[components.Filter("kind", _("类型"), PointKind.choices)],
    )
    points = queries.list_access_points(
        actor,
        community_id=current_community_id(request),
        kind=listing.value("kind"),
        q=listing.q,
    )
    listing.paginate(queries.count_passages(points, _day_start()).order_by("kind", "code"))
    return render(request, "console/doors/list.html", {"listing": listing})


def _hourly(actor: Actor, point: AccessPoint, now: dt.datetime) -> components.Chart:
    """Passages allowed per hour over the last 24 hours."""
    start = (now - dt.timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    counts = {start + dt.timedelta(hours=h): 0 for h in range(24)}
    allowed = queries.list_access_events(actor, point_id=point.pk, result=Result.ALLOW, since=start)
    for at in allowed.values_list("at", flat=True):
        hour = timezone.localtime(at).replace(minute=0, second=0, microsecond=0)
        if hour in counts:
            counts[hour] += 1
    return components.bar_chart(
        _("近24小时每小时通行"),
        [(f"{hour:%H}", n) for hour, n in counts.items()],
        unit=_("次"),
    )


@login_required
@require_GET
def point_detail(request: HttpRequest, point_id: int) -> HttpResponse:
    """One access point: terminals, policies, who may pass now, recent passages."""
    actor = console_actor(request)
    point = queries.get_access_point(actor, point_id)
    who = selectors.who_may_open(actor, point)
    return render(
        request,
        "console/doors/detail.html",
        {
            "point": point,
            "terminals": list(point.devices.order_by("code")),
            "policies": queries.list_policies(actor, point_id=point.pk).select_related(
                "group", "schedule"
            ),
            "who": who[:WHO_LIMIT],
            "who_total": len(who),
            "chart": _hourly(actor, point, timezone.localtime()),
            "recent": list(queries.list_access_events(actor, point_id=point.pk)[:RECENT]),
        },
    )


def _log_listing(request: HttpRequest, actor: Actor) -> components.ListPage:
    points = queries.list_access_points(actor, community_id=current_community_id(request))
    return components.ListPage(
        request,
        search=_("姓名或原因"),
        filters=[
            components.Filter("result", _("结果"), Result.choices),
            components.Filter("method", _("方式"), CredentialKind.choices),
            components.Filter("point", _("通行点"), [(str(p.pk), p.name) for p in points]),
        ],
    )


@login_required
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    """The access log (通行记录), newest first, filterable; new entries appear live."""
    actor = console_actor(request)
    require_somewhere(actor, "access.view")
    listing = _log_listing(request, actor)
    point = listing.value("point")
    after = request.GET.get("after", "")
    events = queries.list_access_events(
        actor,
        community_id=current_community_id(request),
        point_id=int(point) if point.isdigit() else None,
        result=listing.value("result"),
        method=listing.value("method"),
        q=listing.q,
        after_id=int(after) if after.isdigit() else None,
    )
    if after.isdigit():  # the page's live refresh: only newer rows, as table rows
        rows = list(events[:LIVE_ROWS])
        html = render_to_string("console/doors/log_rows.html", {"rows": rows}, request=request)
        response = HttpResponse(html)
        response["X-Last-Id"] = str(rows[0].pk if rows else after)
        return response
    listing.paginate(events)
    newest = events.values_list("pk", flat=True).first()
    return render(request, "console/doors/log.html", {"listing": listing, "last_id": newest or 0})
