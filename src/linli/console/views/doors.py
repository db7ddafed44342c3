"""Console pages of access control (门禁通行): access points, one point, the live access log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.access import selectors
from linli.access.choices import CredentialKind, PointKind, Result
from linli.access.models import AccessEvent, AccessPoint, Policy
from linli.console import components
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, require_somewhere
from linli.core import errors

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
    community_id = current_community_id(request)
    listing = components.ListPage(
        request,
        search=_("编号或名称"),
        filters=[components.Filter("kind", _("类型"), PointKind.choices)],
    )
    points = AccessPoint.objects.restrict(actor, "access.view")
    if community_id is not None:
        points = points.filter(community_id=community_id)
    if listing.value("kind"):
        points = points.filter(kind=listing.value("kind"))
    if listing.q:
        points = points.filter(Q(code__icontains=listing.q) | Q(name__icontains=listing.q))
    today = _day_start()
    counted = points.annotate(
        terminals=Count("devices", distinct=True),
        allowed=Count(
            "events", filter=Q(events__at__gte=today, events__result=Result.ALLOW), distinct=True
        ),
        denied=Count(
            "events", filter=Q(events__at__gte=today, events__result=Result.DENY), distinct=True
        ),
    ).order_by("kind", "code")
    listing.paginate(counted)
    return render(request, "console/doors/list.html", {"listing": listing})


def _hourly(point: AccessPoint, now: dt.datetime) -> components.Chart:
    """Passages allowed per hour over the last 24 hours."""
    start = (now - dt.timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    counts = {start + dt.timedelta(hours=h): 0 for h in range(24)}
    for at in AccessEvent.objects.filter(
        point=point, result=Result.ALLOW, at__gte=start
    ).values_list("at", flat=True):
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
    point = (
        AccessPoint.objects.restrict(actor, "access.view")
        .select_related("building", "unit", "area")
        .filter(pk=point_id)
        .first()
    )
    if point is None:
        raise errors.NotFound()
    now = timezone.localtime()
    policies = (
        Policy.objects.filter(community_id=point.community_id)
        .filter(Q(points=point) | Q(all_points=True))
        .select_related("group", "schedule")
        .distinct()
        .order_by("effect", "name")
    )
    who = selectors.who_may_open(actor, point)
    recent = list(
        AccessEvent.objects.filter(point=point)
        .select_related("person", "visitor", "device")
        .order_by("-at", "-pk")[:RECENT]
    )
    return render(
        request,
        "console/doors/detail.html",
        {
            "point": point,
            "terminals": list(point.devices.order_by("code")),
            "policies": policies,
            "who": who[:WHO_LIMIT],
            "who_total": len(who),
            "chart": _hourly(point, now),
            "recent": recent,
        },
    )


def _log_queryset(request: HttpRequest, listing: components.ListPage) -> Any:
    actor = console_actor(request)
    community_id = current_community_id(request)
    events = AccessEvent.objects.restrict(actor, "access.view")
    if community_id is not None:
        events = events.filter(community_id=community_id)
    for name in ("result", "method", "mode"):
        if listing.value(name):
            events = events.filter(**{name: listing.value(name)})
    point = listing.value("point")
    if point.isdigit():
        events = events.filter(point_id=int(point))
    if listing.q:
        events = events.filter(
            Q(person__name__icontains=listing.q)
            | Q(visitor__name__icontains=listing.q)
            | Q(reason__icontains=listing.q)
        )
    return events.select_related("point", "person", "visitor", "device").order_by("-at", "-pk")


def _log_listing(request: HttpRequest) -> components.ListPage:
    actor = console_actor(request)
    community_id = current_community_id(request)
    points = AccessPoint.objects.restrict(actor, "access.view")
    if community_id is not None:
        points = points.filter(community_id=community_id)
    return components.ListPage(
        request,
        search=_("姓名或原因"),
        filters=[
            components.Filter("result", _("结果"), Result.choices),
            components.Filter("method", _("方式"), CredentialKind.choices),
            components.Filter(
                "point", _("通行点"), [(str(p.pk), p.name) for p in points.order_by("code")]
            ),
        ],
    )


@login_required
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    """The access log (通行记录), newest first, filterable; new entries appear live."""
    actor = console_actor(request)
    require_somewhere(actor, "access.view")
    listing = _log_listing(request)
    events = _log_queryset(request, listing)
    after = request.GET.get("after", "")
    if after.isdigit():  # the page's live refresh: only newer rows, as table rows
        rows = list(events.filter(pk__gt=int(after))[:LIVE_ROWS])
        html = render_to_string("console/doors/log_rows.html", {"rows": rows}, request=request)
        response = HttpResponse(html)
        response["X-Last-Id"] = str(rows[0].pk if rows else after)
        return response
    listing.paginate(events)
    newest = events.values_list("pk", flat=True).first()
    return render(request, "console/doors/log.html", {"listing": listing, "last_id": newest or 0})
