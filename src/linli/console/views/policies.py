"""The policy editor (通行策略): who may pass which access points, when.

Policies name a group, the access points (or all of them), a schedule (or always) and
allow or deny; an explicit deny wins. Groups and schedules are made here too: a schedule
as up to four weekly windows (days, start and end). Every change goes through the access
management actions, which recompile the rights at once and audit it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from linli.access import manage, queries
from linli.access.choices import DayKind, Effect, GroupKind, HolidayRule
from linli.access.models import AccessPoint, Group, Policy, Schedule
from linli.console.context import current_community_id
from linli.console.forms import ConsoleForm
from linli.console.views.common import console_actor, flash_error, require_somewhere
from linli.core import errors
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.places import selectors as place_selectors
from linli.places.models import Building, Community, Unit

WEEKDAYS = [
    (1, pgettext_lazy("weekday", "一")),
    (2, pgettext_lazy("weekday", "二")),
    (3, pgettext_lazy("weekday", "三")),
    (4, pgettext_lazy("weekday", "四")),
    (5, pgettext_lazy("weekday", "五")),
    (6, pgettext_lazy("weekday", "六")),
    (7, pgettext_lazy("weekday", "日")),
]
WINDOWS = 4


def _community(request: HttpRequest, perm: str) -> Community:
    actor = console_actor(request)
    community_id = current_community_id(request)
    if community_id is None:
        raise errors.NotFound()
    return place_selectors.get_community(actor, community_id, perm=perm)


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    """The community's policies, groups and schedules."""
    actor = console_actor(request)
    require_somewhere(actor, "access.view")
    community = _community(request, "access.view")
    policies = (
        queries.list_policies(actor, community_id=community.pk)
        .select_related("group", "schedule")
        .annotate(rights_count=Count("rights"))
        .order_by("effect", "name")
    )
    return render(
        request,
        "console/doors/policies.html",
        {
            "community": community,
            "policies": policies,
            "groups": queries.list_groups(actor, community_id=community.pk).order_by(
                "kind", "name"
            ),
            "schedules": queries.list_schedules(actor, community_id=community.pk),
            "holidays": queries.list_holidays(
                actor, community.pk, since=timezone.localdate() - dt.timedelta(days=30)
            ),
            "holiday_form": HolidayForm(),
            "can_manage": actor.can("access.manage", community.pk),
            "can_manage_all": actor.can("access.manage", None),
        },
    )


class HolidayForm(ConsoleForm):
    """A public holiday or a 调休 workday of this community, or of every community."""

    date = forms.DateField(
        label=gettext_lazy("日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=DayKind.choices)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=50, required=False)
    everywhere = forms.BooleanField(label=gettext_lazy("所有社区"), required=False)


@login_required
@require_POST
def holiday_new(request: HttpRequest) -> HttpResponse:
    """Add a holiday (a deployment-wide one needs a platform administrator)."""
    actor = console_actor(request)
    community = _community(request, "access.manage")
    form = HolidayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        scope = None if data["everywhere"] else community.pk
        try:
            manage.do_create_holiday(
                actor, scope, date=data["date"], kind=data["kind"], name=data["name"]
            )
        except (errors.ValidationFailed, errors.Conflict, errors.PermissionDenied) as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("节假日已保存。"))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("console:access_policies")


@login_required
@require_POST
def holiday_delete(request: HttpRequest, holiday_id: int) -> HttpResponse:
    """Remove a holiday."""
    actor = console_actor(request)
    manage.do_delete_holiday(actor, queries.get_holiday(actor, holiday_id))
    messages.success(request, _("节假日已删除。"))
    return redirect("console:access_policies")


class PolicyForm(ConsoleForm):
    """A policy: group × points × schedule → allow or deny."""

    error_fields = {"point_ids": "points", "group_id": "group", "schedule_id": "schedule"}

    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    effect = forms.ChoiceField(label=gettext_lazy("效果"), choices=Effect.choices)
    group = forms.ModelChoiceField(label=gettext_lazy("人员组"), queryset=Group.objects.none())
    all_points = forms.BooleanField(label=gettext_lazy("全部通行点"), required=False)
    points = forms.ModelMultipleChoiceField(
        label=gettext_lazy("通行点"),
        queryset=AccessPoint.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    schedule = forms.ModelChoiceField(
        label=gettext_lazy("时间表"),
        queryset=Schedule.objects.none(),
        required=False,
        empty_label=gettext_lazy("全天"),
    )
    enabled = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args: Any, actor: Actor, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cid = community.pk
        cast(forms.ModelChoiceField, self.fields["group"]).queryset = queries.list_groups(
            actor, community_id=cid
        ).order_by("kind", "name")
        cast(
            forms.ModelMultipleChoiceField, self.fields["points"]
        ).queryset = queries.list_access_points(actor, community_id=cid).order_by("kind", "code")
        cast(forms.ModelChoiceField, self.fields["schedule"]).queryset = queries.list_schedules(
            actor, community_id=cid
        )

    def values(self) -> dict[str, Any]:
        """The action's arguments."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "effect": data["effect"],
            "group_id": data["group"].pk,
            "point_ids": [p.pk for p in data["points"]],
            "all_points": data["all_points"],
            "schedule_id": data["schedule"].pk if data["schedule"] else None,
            "enabled": data["enabled"],
        }


def _policy_form_page(
    request: HttpRequest, community: Community, form: PolicyForm, policy: Policy | None
) -> HttpResponse:
    return render(
        request,
        "console/doors/policy_form.html",
        {"community": community, "form": form, "policy": policy},
        status=form.error_status,
    )


@login_required
def policy_new(request: HttpRequest) -> HttpResponse:
    """Create a policy; its rights are compiled at once."""
    actor = console_actor(request)
    community = _community(request, "access.manage")
    form = PolicyForm(
        request.POST or None, actor=actor, community=community, initial={"enabled": True}
    )
    if request.method == "POST" and form.is_valid():
        done = form.attempt(lambda: manage.do_create_policy(actor, community, **form.values()))
        if done is not None:
            messages.success(request, _("通行策略已保存，权限已更新。"))
            return redirect("console:access_policies")
    return _policy_form_page(request, community, form, None)


def _own_policy(request: HttpRequest, policy_id: int) -> Policy:
    actor = console_actor(request)
    policy = queries.get_policy(actor, policy_id)
    actor.require("access.manage", policy.community_id)
    return policy


@login_required
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Edit a policy; its rights are recompiled at once."""
    actor = console_actor(request)
    policy = _own_policy(request, policy_id)
    community = policy.community
    initial = {
        "name": policy.name,
        "effect": policy.effect,
        "group": policy.group_id,
        "all_points": policy.all_points,
        "points": list(policy.points.values_list("pk", flat=True)),
        "schedule": policy.schedule_id,
        "enabled": policy.enabled,
    }
    form = PolicyForm(request.POST or None, actor=actor, community=community, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = form.attempt(lambda: manage.do_update_policy(actor, policy, **form.values()))
        if done is not None:
            messages.success(request, _("通行策略已保存，权限已更新。"))
            return redirect("console:access_policies")
    return _policy_form_page(request, community, form, policy)


@login_required
@require_POST
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Delete a policy and the rights it gave."""
    policy = _own_policy(request, policy_id)
    manage.do_delete_policy(console_actor(request), policy)
    messages.success(request, _("通行策略已删除。"))
    return redirect("console:access_policies")


class GroupForm(ConsoleForm):
    """A group of people a policy is about."""

    error_fields = {"building_id": "building", "unit_id": "unit", "member_ids": None}

    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=GroupKind.choices)
    building = forms.ModelChoiceField(
        label=gettext_lazy("楼栋（住户）"),
        queryset=Building.objects.none(),
        required=False,
        empty_label=gettext_lazy("全部"),
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("单元（住户）"),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=gettext_lazy("全部"),
    )
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("角色（工作人员）"),
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["building"]).queryset = Building.objects.filter(
            community=community
        ).order_by("number")
        cast(forms.ModelChoiceField, self.fields["unit"]).queryset = (
            Unit.objects.filter(community=community)
            .select_related("building")
            .order_by("building__number", "number")
        )
        staff = [(r.value, r.label) for r in Role if r not in (Role.RESIDENT, Role.PLATFORM_ADMIN)]
        cast(forms.MultipleChoiceField, self.fields["roles"]).choices = staff


@login_required
def group_new(request: HttpRequest) -> HttpResponse:
    """Create a group (a named list's members are then added on its page)."""
    actor = console_actor(request)
    community = _community(request, "access.manage")
    form = GroupForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind = data["kind"]
        values: dict[str, Any] = {"name": data["name"], "kind": kind}
        if kind == GroupKind.RESIDENTS:
            values["building_id"] = data["building"].pk if data["building"] else None
            values["unit_id"] = data["unit"].pk if data["unit"] else None
        if kind == GroupKind.STAFF:
            values["roles"] = data["roles"]
        done = form.attempt(lambda: manage.do_create_group(actor, community, **values))
        if done is not None:
            messages.success(request, _("人员组已保存。"))
            if done.kind == GroupKind.LIST:  # next: who is on the list
                return redirect("console:access_group", group_id=done.pk)
            return redirect("console:access_policies")
    return render(
        request,
        "console/doors/group_form.html",
        {"community": community, "form": form},
        status=form.error_status,
    )


MEMBER_MATCHES = 20


@login_required
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    """A group and the policies naming it; a named list's members, added (found by name)
    and removed here, each change recompiling the rights at once."""
    actor = console_actor(request)
    group = queries.get_group(actor, group_id)
    can_manage = actor.can("access.manage", group.community_id)
    if request.method == "POST":
        raw = request.POST.get("person", "")
        person_id = int(raw) if raw.isdigit() else 0
        change = (
            manage.do_remove_group_member
            if request.POST.get("action") == "remove"
            else manage.do_add_group_member
        )
        try:
            change(actor, group, person_id)
        except (errors.ValidationFailed, errors.Conflict) as exc:
            flash_error(request, exc)
        else:
            messages.success(request, _("名单已更新，通行权限已重新计算。"))
        return redirect("console:access_group", group_id=group.pk)
    q = request.GET.get("q", "").strip()[:50]
    listing = group.kind == GroupKind.LIST and can_manage and q
    return render(
        request,
        "console/doors/group.html",
        {
            "group": group,
            "members": sorted(group.members.all(), key=lambda p: (p.name, p.pk)),
            "policies": queries.list_policies(actor, group_id=group.pk).order_by("effect", "name"),
            "q": q,
            "matches": queries.list_candidates(actor, group, q, MEMBER_MATCHES) if listing else [],
            "can_manage": can_manage,
            "max_members": manage.MAX_MEMBERS,
        },
    )


class ScheduleForm(ConsoleForm):
    """A schedule as up to four weekly windows and a holiday rule."""

    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    holiday_rule = forms.ChoiceField(label=gettext_lazy("节假日"), choices=HolidayRule.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(WINDOWS):
            self.fields[f"days_{n}"] = forms.TypedMultipleChoiceField(
                label=gettext_lazy("时段 %(n)d 星期") % {"n": n + 1},
                choices=WEEKDAYS,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            )
            self.fields[f"start_{n}"] = forms.CharField(
                label=gettext_lazy("开始"),
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}),
            )
            self.fields[f"end_{n}"] = forms.CharField(
                label=gettext_lazy("结束（24:00 为午夜）"),
                required=False,
                max_length=5,
            )

    def windows(self) -> tuple[list[dict[str, Any]], list[int]]:
        """The windows filled in (a row with any part given counts), and their row numbers."""
        out, rows = [], []
        for n in range(WINDOWS):
            days = self.cleaned_data.get(f"days_{n}") or []
            start = self.cleaned_data.get(f"start_{n}") or ""
            end = self.cleaned_data.get(f"end_{n}") or ""
            if days or start or end:
                out.append({"days": sorted(days), "start": start, "end": end})
                rows.append(n)
        return out, rows


@login_required
def schedule_new(request: HttpRequest) -> HttpResponse:
    """Create a schedule; each window's problem is shown by the window."""
    actor = console_actor(request)
    community = _community(request, "access.manage")
    form = ScheduleForm(request.POST or None, initial={"holiday_rule": HolidayRule.AS_USUAL})
    if request.method == "POST" and form.is_valid():
        windows, rows_used = form.windows()
        try:
            manage.do_create_schedule(
                actor,
                community,
                name=form.cleaned_data["name"],
                windows=windows,
                holiday_rule=form.cleaned_data["holiday_rule"],
            )
        except errors.ValidationFailed as exc:
            for key, problems in exc.details.items():
                target = _window_field(key, rows_used)
                for problem in problems:
                    form.add_error(target if target in form.fields else None, problem)
            form.error_status = 422
        else:
            messages.success(request, _("时间表已保存。"))
            return redirect("console:access_policies")
    rows = [
        (form[f"days_{n}"], form[f"start_{n}"], form[f"end_{n}"], n + 1) for n in range(WINDOWS)
    ]
    return render(
        request,
        "console/doors/schedule_form.html",
        {"community": community, "form": form, "rows": rows},
        status=form.error_status,
    )


def _window_field(key: str, rows: list[int]) -> str | None:
    """The form field of an error key: ``windows[1].end`` → ``end_<row of the 2nd window>``,
    ``windows[0]`` → its start, ``windows`` (no window at all) → the first row's days."""
    if key == "windows":
        return "days_0"
    if not key.startswith("windows["):
        return key
    index, _sep, part = key[len("windows[") :].partition("]")
    part = part.lstrip(".") or "start"
    if not index.isdigit() or int(index) >= len(rows):
        return None
    return f"{part}_{rows[int(index)]}"
