"""Console pages of devices (设备): the list by status, a device's page, registering one.

A device's secret is shown once, on the page that answers the registration or the
rotation (never cached); every other page shows only the credential version.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.console import components, svg
from linli.console.context import current_community_id
from linli.console.forms import ConsoleForm
from linli.console.views.common import console_actor, no_store, require_somewhere
from linli.core import errors
from linli.devices import actions, selectors
from linli.devices.choices import CommandName, DeviceKind, DeviceStatus, UpType
from linli.devices.models import Device
from linli.places import selectors as place_selectors
from linli.places.models import Area, Building, Community, Unit

DEVICE_FIELDS = (
    "code",
    "kind",
    "serial",
    "vendor",
    "model",
    "firmware",
    "heartbeat_seconds",
    "last_seen_at",
    "created_at",
)
# The buttons of the device page, in order; each shows only for kinds that accept it.
BUTTONS = (CommandName.OPEN_DOOR, CommandName.REBOOT, CommandName.SYNC_CREDENTIALS)
RECENT = 20
SERIES_HOURS = 24


class DeviceForm(ConsoleForm):
    """Register a device (登记设备)."""

    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=())
    code = forms.SlugField(
        label=gettext_lazy("设备编号"),
        max_length=64,
        help_text=gettext_lazy("设备在消息和 MQTT 主题中使用的编号，登记后不可修改。"),
    )
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    serial = forms.CharField(label=gettext_lazy("序列号"), max_length=64)
    vendor = forms.CharField(label=gettext_lazy("厂商"), max_length=100, required=False)
    model = forms.CharField(label=gettext_lazy("型号"), max_length=100, required=False)
    firmware = forms.CharField(label=gettext_lazy("固件版本"), max_length=50, required=False)
    building_id = forms.TypedChoiceField(
        label=gettext_lazy("楼栋"), coerce=int, required=False, empty_value=None, choices=()
    )
    unit_id = forms.TypedChoiceField(
        label=gettext_lazy("单元"), coerce=int, required=False, empty_value=None, choices=()
    )
    area_id = forms.TypedChoiceField(
        label=gettext_lazy("区域"), coerce=int, required=False, empty_value=None, choices=()
    )
    tags = forms.CharField(
        label=gettext_lazy("标签"),
        required=False,
        help_text=gettext_lazy("多个标签用逗号分隔。"),
    )
    heartbeat_seconds = forms.IntegerField(
        label=gettext_lazy("心跳间隔 (秒)"),
        initial=60,
        min_value=actions.MIN_HEARTBEAT,
        max_value=actions.MAX_HEARTBEAT,
    )

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", "—")]
        self._choices("kind", [(k.value, k.label) for k in DeviceKind])
        buildings = Building.objects.filter(community=community).order_by("number")
        self._choices("building_id", none + [(str(b.pk), str(b)) for b in buildings])
        units = Unit.objects.filter(community=community).select_related("building")
        self._choices(
            "unit_id",
            none + [(str(u.pk), f"{u.building} {u.number}") for u in units.order_by("pk")],
        )
        areas = Area.objects.filter(community=community).order_by("name")
        self._choices("area_id", none + [(str(a.pk), a.name) for a in areas])

    def clean_tags(self) -> list[str]:
        """Split the tags on commas (ASCII or Chinese)."""
        raw = self.cleaned_data.get("tags") or ""
        return [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


class DeviceEditForm(DeviceForm):
    """Edit a device (编辑设备): everything but its kind and its code."""

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, community=community, **kwargs)
        del self.fields["kind"]
        del self.fields["code"]

    @classmethod
    def initial_of(cls, device: Device) -> dict[str, Any]:
        """The form's values from a device."""
        return {
            "name": device.name,
            "serial": device.serial,
            "vendor": device.vendor,
            "model": device.model,
            "firmware": device.firmware,
            "building_id": device.building_id,
            "unit_id": device.unit_id,
            "area_id": device.area_id,
            "tags": ", ".join(device.tags),
            "heartbeat_seconds": device.heartbeat_seconds,
        }


def _not_json(constant: str) -> Any:
    raise ValueError(constant)


class ConfigForm(ConsoleForm):
    """The configuration a device should run (期望配置), as a JSON object."""

    config = forms.CharField(
        label=gettext_lazy("期望配置 (JSON)"),
        widget=forms.Textarea(
            attrs={"rows": 12, "spellcheck": "false", "class": "form-control font-monospace"}
        ),
        help_text=gettext_lazy("保存后版本号加一，并向设备下发“下发配置”指令。"),
    )

    def clean_config(self) -> dict[str, Any]:
        """Parse the text as a JSON object (key order kept; NaN and Infinity are not JSON)."""
        raw = self.cleaned_data.get("config") or ""
        try:
            value = json.loads(raw, parse_constant=_not_json)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("不是有效的 JSON：第 %(line)d 行第 %(col)d 列。")
                % {"line": exc.lineno, "col": exc.colno}
            ) from None
        except ValueError:
            raise forms.ValidationError(_("配置中不能有 NaN 或 Infinity。")) from None
        except RecursionError:
            raise forms.ValidationError(_("配置嵌套层数过多。")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_('配置应为 JSON 对象，例如 {"volume": 5}。'))
        return value


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    """List the current community's devices with their status, filterable by kind and place."""
    actor = console_actor(request)
    require_somewhere(actor, "device.view")
    community_id = current_community_id(request)
    buildings = (
        place_selectors.list_buildings(actor, community_id=community_id).order_by("number")
        if community_id is not None
        else Building.objects.none()
    )
    listing = components.ListPage(
        request,
        search=_("编号、名称或序列号"),
        filters=[
            components.Filter("kind", _("类型"), DeviceKind.choices),
            components.Filter("status", _("状态"), DeviceStatus.choices),
            # Without buildings there is nothing to choose (an empty filter is a checkbox).
            *(
                [components.Filter("building", _("楼栋"), [(str(b.pk), str(b)) for b in buildings])]
                if buildings
                else []
            ),
        ],
    )
    building = listing.value("building")
    listing.paginate(
        selectors.list_devices(
            actor,
            community_id=community_id,
            kind=listing.value("kind"),
            status=listing.value("status"),
            building_id=int(building) if building else None,
            q=listing.q,
        )
    )
    counts = selectors.count_by_status(actor, community_id=community_id)
    return render(
        request,
        "console/devices/list.html",
        {
            "listing": listing,
            "counts": [(s, s.label, counts[s.value]) for s in DeviceStatus],
            "can_manage": community_id is not None and actor.can("device.manage", community_id),
        },
    )


@login_required
def device_new(request: HttpRequest) -> HttpResponse:
    """Register a device in the current community; the answer shows its secret once."""
    actor = console_actor(request)
    community_id = current_community_id(request)
    if community_id is None:
        raise errors.NotFound()
    community = place_selectors.get_community(actor, community_id, perm="device.manage")
    if request.method == "POST":
        form = DeviceForm(request.POST, community=community)
        if form.is_valid():
            data = form.cleaned_data
            done = form.attempt(lambda: actions.do_register_device(actor, community, **data))
            if done is not None:
                device, secret = done
                return _device_page(request, device, secret=secret)
    else:
        form = DeviceForm(community=community)
    return render(
        request,
        "console/devices/form.html",
        {"community": community, "form": form},
        status=form.error_status,
    )


def _hourly(points: list[tuple[dt.datetime, float]], until: dt.datetime) -> list[tuple[str, float]]:
    """Average readings per hour over the last day, labelled by local hour."""
    start = until - dt.timedelta(hours=SERIES_HOURS)
    sums: dict[int, list[float]] = {}
    for ts, value in points:
        slot = int((ts - start).total_seconds() // 3600)
        sums.setdefault(min(slot, SERIES_HOURS - 1), []).append(value)
    out = []
    for slot in sorted(sums):
        at = timezone.localtime(start + dt.timedelta(hours=slot + 1))
        values = sums[slot]
        out.append((at.strftime("%H:00"), round(sum(values) / len(values), 2)))
    return out


def _device_page(
    request: HttpRequest, device: Device, *, secret: str | None = None, status: int = 200
) -> HttpResponse:
    actor = console_actor(request)
    now = timezone.now()
    metrics = selectors.telemetry_metrics(actor, device)
    metric = request.GET.get("metric", "")
    metric = metric if metric in metrics else (metrics[0] if metrics else "")
    chart = None
    if metric:
        points = selectors.telemetry_series(
            actor, device, metric, since=now - dt.timedelta(hours=SERIES_HOURS), until=now
        )
        hourly = _hourly(points, now)
        title = _("%(metric)s（最近 24 小时，每小时平均）") % {"metric": metric}
        chart = {
            "title": title,
            "svg": svg.line_chart(hourly, label=title),
            "table": hourly,
            "is_empty": not hourly,
            "unit": "",
        }
    msg_type = request.GET.get("type", "")
    msg_type = msg_type if msg_type in UpType.values else ""
    can_command = actor.can("device.command", device.community_id)
    response = render(
        request,
        "console/devices/detail.html",
        {
            "device": device,
            "fields": components.describe(device, DEVICE_FIELDS),
            "secret": secret,
            "metrics": metrics,
            "metric": metric,
            "chart": chart,
            "msg_type": msg_type,
            "msg_types": UpType.choices,
            "recent": [
                (m, json.dumps(m.payload, ensure_ascii=False))
                for m in selectors.list_messages(actor, device, type=msg_type)[:RECENT]
            ],
            "events": list(selectors.list_messages(actor, device, type=UpType.EVENT)[:5]),
            "changes": list(selectors.list_status_changes(actor, device)[:RECENT]),
            "commands": list(selectors.list_commands(actor, device=device)[:RECENT]),
            "buttons": [
                (n, n.label) for n in BUTTONS if can_command and actions.supports(device, n)
            ],
            "can_manage": actor.can("device.manage", device.community_id),
            "can_command": can_command,
            "open": actions.OPEN,
        },
        status=status,
    )
    # The secret is on this page only once: keep it out of every cache and the history.
    return no_store(response) if secret else response


@login_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    """Show a device: details, location, telemetry, messages, status history, commands."""
    device = selectors.get_device(console_actor(request), device_id)
    return _device_page(request, device)


@login_required
@require_POST
def device_rotate(request: HttpRequest, device_id: int) -> HttpResponse:
    """Rotate a device's secret and show the new one once (needs ``device.manage``)."""
    actor = console_actor(request)
    device = selectors.get_device(actor, device_id, perm="device.manage")
    device, secret = actions.do_rotate_credentials(actor, device)
    return _device_page(request, device, secret=secret)


@login_required
@require_POST
def device_enabled(request: HttpRequest, device_id: int) -> HttpResponse:
    """Enable or disable a device (needs ``device.manage``)."""
    actor = console_actor(request)
    device = selectors.get_device(actor, device_id, perm="device.manage")
    enabled = request.POST.get("enabled") == "1"
    actions.do_set_device_enabled(actor, device, enabled)
    messages.success(request, _("设备已启用。") if enabled else _("设备已停用。"))
    return redirect("console:device", device_id=device.pk)


@login_required
@require_POST
def device_command(request: HttpRequest, device_id: int) -> HttpResponse:
    """Queue one of the page's commands with its default parameters (needs ``device.command``)."""
    actor = console_actor(request)
    device = selectors.get_device(actor, device_id, perm="device.command")
    name = request.POST.get("name", "")
    if name not in BUTTONS:
        raise errors.ValidationFailed(details={"name": [_("未知指令。")]})
    try:
        actions.do_queue_command(actor, device, name)
    except (errors.ValidationFailed, errors.Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("指令“%(name)s”已排队下发。") % {"name": CommandName(name).label}
        )
    return redirect("console:device", device_id=device.pk)


@login_required
@require_POST
def command_cancel(request: HttpRequest, command_id: int) -> HttpResponse:
    """Cancel a command not yet answered (needs ``device.command``)."""
    actor = console_actor(request)
    command = selectors.get_command(actor, command_id)
    try:
        actions.do_cancel_command(actor, command)
    except errors.Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("指令已取消。"))
    return redirect("console:device", device_id=command.device_id)


@login_required
def device_edit(request: HttpRequest, device_id: int) -> HttpResponse:
    """Edit a device's name, identity, location, tags and heartbeat (needs ``device.manage``)."""
    actor = console_actor(request)
    device = selectors.get_device(actor, device_id, perm="device.manage")
    community = device.community
    if request.method == "POST":
        form = DeviceEditForm(request.POST, community=community)
        if form.is_valid():
            data = form.cleaned_data
            done = form.attempt(lambda: actions.do_update_device(actor, device, **data))
            if done is not None:
                messages.success(request, _("设备信息已保存。"))
                return redirect("console:device", device_id=device.pk)
    else:
        form = DeviceEditForm(initial=DeviceEditForm.initial_of(device), community=community)
    return render(
        request,
        "console/devices/edit.html",
        {"device": device, "form": form},
        status=form.error_status,
    )


@login_required
def device_config(request: HttpRequest, device_id: int) -> HttpResponse:
    """Set the configuration a device should run, beside what it reports running."""
    actor = console_actor(request)
    device = selectors.get_device(actor, device_id, perm="device.manage")
    if request.method == "POST":
        form = ConfigForm(request.POST)
        if form.is_valid():
            config = form.cleaned_data["config"]
            done = form.attempt(lambda: actions.do_set_desired_config(actor, device, config))
            if done is not None:
                messages.success(
                    request,
                    _("期望配置已保存为版本 %(version)d，已向设备下发。")
                    % {"version": device.desired_version},
                )
                return redirect("console:device", device_id=device.pk)
    else:
        form = ConfigForm(
            initial={"config": json.dumps(device.desired_config, ensure_ascii=False, indent=2)}
        )
    return render(
        request,
        "console/devices/config.html",
        {
            "device": device,
            "form": form,
            "desired": components.pretty_json(device.desired_config),
            "reported": components.pretty_json(device.reported_config),
            "in_step": device.desired_version == device.reported_version
            and device.desired_config == device.reported_config,
        },
        status=form.error_status,
    )
