"""Console pages of devices: the list, a device's page, registering, secrets, commands."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.core.choices import Role
from linli.core.models import User
from linli.core.tenancy import Actor
from linli.devices import credentials, status
from linli.devices.actions import do_register_device
from linli.devices.choices import CommandStatus, Transport, UpType
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.actions import do_generate_building
from tests.conftest import World, make_user
from tests.tenancy_devices import make_device


@pytest.fixture
def desk(world: World, system: Actor) -> User:
    return make_user(system, "desk-a", Role.FRONT_DESK, world.a)


@pytest.fixture
def tech(world: World, system: Actor) -> User:
    return make_user(system, "tech-a", Role.TECHNICIAN, world.a)


def test_list_shows_status_counts_and_filters(
    login, world: World, system: Actor, desk: User
) -> None:  # type: ignore[no-untyped-def]
    building = do_generate_building(
        system, world.a, number="3", floors_above=1, units=1, rooms_per_floor=1
    )
    online = make_device(system, world.a, code="gate-1", building_id=building.pk)
    make_device(system, world.a, code="cam-1", kind="camera", name="停车场摄像机")
    make_device(system, world.b, code="b-gate", name="别人的门")
    status.mark_online(online, status.MESSAGE, timezone.now())
    c = login(desk)
    page = c.get(reverse("console:devices")).content.decode()
    assert "停车场摄像机" in page
    assert "别人的门" not in page
    assert 'data-count="online">1<' in page
    assert 'data-count="unknown">1<' in page
    assert 'id="device-new"' not in page  # the front desk only looks
    filtered = c.get(reverse("console:devices"), {"building": building.pk}).content.decode()
    assert "东门" in filtered
    assert "停车场摄像机" not in filtered
    assert "停车场摄像机" in c.get(reverse("console:devices"), {"kind": "camera"}).content.decode()
    assert "东门" not in c.get(reverse("console:devices"), {"status": "offline"}).content.decode()


def test_nav_has_devices_for_staff_with_device_view(login, world: World, desk: User) -> None:  # type: ignore[no-untyped-def]
    assert 'id="nav-devices"' in login(desk).get(reverse("console:dashboard")).content.decode()


def test_technician_registers_and_sees_the_secret_once(login, world: World, tech: User) -> None:  # type: ignore[no-untyped-def]
    c = login(tech)
    assert c.get(reverse("console:device_new")).status_code == 200
    response = c.post(
        reverse("console:device_new"),
        {
            "kind": "smoke_detector",
            "code": "smoke-101",
            "name": "101室烟感",
            "serial": "YG-101",
            "tags": "一期，消防",
            "heartbeat_seconds": "300",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    secret = re.search(r'id="secret-value">([^<]+)<', page)
    assert secret is not None
    device = Device.objects.get(code="smoke-101")
    assert device.tags == ["一期", "消防"]
    assert credentials.check_token(device, secret.group(1))
    again = c.get(reverse("console:device", args=[device.pk])).content.decode()
    assert secret.group(1) not in again
    assert 'id="device-secret"' not in again


def test_register_form_shows_a_duplicate_on_the_form(
    login, world: World, system: Actor, tech: User
) -> None:  # type: ignore[no-untyped-def]
    make_device(system, world.a, code="gate-1")
    body = {
        "kind": "camera",
        "code": "gate-1",
        "name": "x",
        "serial": "x",
        "heartbeat_seconds": "60",
    }
    response = login(tech).post(reverse("console:device_new"), body)
    assert response.status_code == 409
    assert "设备编号已被使用" in response.content.decode()
    assert Device.objects.count() == 1


def test_rotate_shows_the_new_secret_and_the_old_one_stops(
    login, world: World, system: Actor, tech: User
) -> None:  # type: ignore[no-untyped-def]
    device, old = do_register_device(
        system, world.a, kind="camera", code="cam-9", name="摄像机", serial="C9"
    )
    response = login(tech).post(reverse("console:device_rotate", args=[device.pk]))
    assert response["Cache-Control"] == "no-store"
    new = re.search(r'id="secret-value">([^<]+)<', response.content.decode())
    assert new is not None
    device.refresh_from_db()
    assert device.credential_version == 2
    assert credentials.check_token(device, new.group(1))
    assert not credentials.check_token(device, old)


def test_guard_commands_but_cannot_rotate_or_register(login, world: World, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a)
    c = login(world.guard_a)
    page = c.get(reverse("console:device", args=[device.pk])).content.decode()
    assert 'data-command="open_door"' in page
    assert 'id="rotate-credentials"' not in page
    response = c.post(reverse("console:device_command", args=[device.pk]), {"name": "open_door"})
    assert response.status_code == 302
    command = Command.objects.get()
    assert (command.name, command.status, command.created_by) == (
        "open_door",
        CommandStatus.QUEUED,
        world.guard_a,
    )
    page = c.get(reverse("console:device", args=[device.pk])).content.decode()
    assert f'data-cancel="{command.pk}"' in page
    c.post(reverse("console:command_cancel", args=[command.pk]))
    assert Command.objects.get().status == CommandStatus.CANCELLED
    assert c.post(reverse("console:device_rotate", args=[device.pk])).status_code == 403
    assert c.get(reverse("console:device_new")).status_code == 403
    assert Device.objects.get().credential_version == 1


def test_front_desk_only_views(login, world: World, system: Actor, desk: User) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a)
    c = login(desk)
    page = c.get(reverse("console:device", args=[device.pk])).content.decode()
    assert "data-command=" not in page
    assert (
        c.post(
            reverse("console:device_command", args=[device.pk]), {"name": "open_door"}
        ).status_code
        == 403
    )
    assert (
        c.post(reverse("console:device_enabled", args=[device.pk]), {"enabled": "0"}).status_code
        == 403
    )
    assert not Command.objects.exists()
    assert Device.objects.get().enabled


def test_other_community_device_is_not_found(login, world: World, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.b, code="b-gate")
    c = login(world.manager_a)
    assert c.get(reverse("console:device", args=[device.pk])).status_code == 404
    assert c.post(reverse("console:device_rotate", args=[device.pk])).status_code == 404
    assert (
        c.post(reverse("console:device_command", args=[device.pk]), {"name": "reboot"}).status_code
        == 404
    )
    assert not Command.objects.exists()


def test_device_page_draws_telemetry_messages_and_status_history(
    login,
    world: World,
    system: Actor,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    device = make_device(system, world.a, kind="environment_sensor", code="env-1")
    now = timezone.now()
    for i in range(30):
        at = now - dt.timedelta(minutes=40 * i)
        DeviceMessage.objects.create(
            community=world.a,
            device=device,
            msg_id=f"t{i}",
            type=UpType.TELEMETRY,
            ts=at,
            received_at=at,
            transport=Transport.MQTT,
            payload={"metrics": {"pm25": 30 + i, "temp": 20}},
        )
    status.mark_online(device, status.MESSAGE, now - dt.timedelta(hours=1))
    status.mark_offline(device, status.HEARTBEAT_TIMEOUT, now)
    c = login(world.manager_a)
    with django_assert_max_num_queries(25):
        page = c.get(
            reverse("console:device", args=[device.pk]), {"metric": "pm25"}
        ).content.decode()
    assert "linli-line-chart" in page
    assert '<option value="pm25" selected>' in page
    assert "heartbeat_timeout" in page
    assert page.count('class="point"') >= 20  # hourly averages over the day
    heartbeat = c.get(reverse("console:device", args=[device.pk]), {"type": "heartbeat"})
    assert "暂无消息" in heartbeat.content.decode()


def test_edit_a_device_with_field_errors_and_audit(login, world: World, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a, code="gate-9", name="东门")
    client = login(world.manager_a)
    page = client.get(f"/devices/{device.pk}/edit/")
    html = page.content.decode()
    assert page.status_code == 200 and 'value="东门"' in html and "gate-9" in html
    bad = client.post(
        f"/devices/{device.pk}/edit/",
        {"name": "", "serial": "SN-1", "heartbeat_seconds": 1},
    )
    assert bad.status_code == 422
    assert bad.content.decode().count("invalid-feedback") >= 2
    done = client.post(
        f"/devices/{device.pk}/edit/",
        {
            "name": "东门人脸机",
            "serial": "SN-gate-9",
            "heartbeat_seconds": 30,
            "tags": "大门，人脸",
        },
    )
    assert done.status_code == 302
    device.refresh_from_db()
    assert (device.name, device.heartbeat_seconds, device.tags) == (
        "东门人脸机",
        30,
        ["大门", "人脸"],
    )


def test_set_the_desired_configuration_as_json(login, world: World, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a, code="gate-8")
    client = login(world.manager_a)
    page = client.get(f"/devices/{device.pk}/config/")
    assert page.status_code == 200 and 'id="config-reported"' in page.content.decode()
    for text, problem in (("{not json", "不是有效的 JSON"), ("[1, 2]", "配置应为 JSON 对象")):
        bad = client.post(f"/devices/{device.pk}/config/", {"config": text})
        assert bad.status_code == 422 and problem in bad.content.decode()
    ok = client.post(f"/devices/{device.pk}/config/", {"config": '{"volume": 5, "lang": "zh"}'})
    assert ok.status_code == 302
    device.refresh_from_db()
    assert device.desired_version == 1 and device.desired_config == {"volume": 5, "lang": "zh"}
    command = Command.objects.get(device=device, name="set_config")
    assert command.params == {"version": 1, "config": {"volume": 5, "lang": "zh"}}
    assert "config-pending" in client.get(f"/devices/{device.pk}/config/").content.decode()


def test_edit_and_config_need_device_manage_in_the_devices_community(  # type: ignore[no-untyped-def]
    login, world: World, system: Actor
) -> None:
    device = make_device(system, world.a, code="gate-7")
    other = login(world.manager_b)
    assert other.get(f"/devices/{device.pk}/edit/").status_code == 404
    assert other.post(f"/devices/{device.pk}/config/", {"config": "{}"}).status_code == 404
    guard = login(world.guard_a)
    assert guard.get(f"/devices/{device.pk}/edit/").status_code == 403
    assert guard.get(f"/devices/{device.pk}/config/").status_code == 403


def test_the_configuration_form_refuses_what_a_device_could_not_take(  # type: ignore[no-untyped-def]
    login, world: World, system: Actor
) -> None:
    device = make_device(system, world.a, code="gate-6")
    client = login(world.manager_a)
    big = '{"faces": "' + "x" * (33 * 1024) + '"}'
    for text, problem in (
        ('{"volume": NaN}', "NaN 或 Infinity"),
        ('{"limit": -Infinity}', "NaN 或 Infinity"),
        ("[" * 100_000, "嵌套层数过多"),
        (big, "配置不能超过 32 KiB"),
        ('{\n  "volume": 5,\n}', "第 3 行第 1 列"),
    ):
        bad = client.post(f"/devices/{device.pk}/config/", {"config": text})
        html = bad.content.decode()
        field = html.split('id="id_config"')[1]
        assert bad.status_code == 422 and problem in field, text[:40]
    device.refresh_from_db()
    assert device.desired_version == 0
    assert not Command.objects.filter(device=device).exists()


def test_edit_and_config_errors_in_english(login, world: World, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a, code="gate-5")
    make_device(system, world.a, code="gate-4", serial="SN-taken")
    client = login(world.manager_a)
    client.post("/i18n/setlang/", {"language": "en", "next": "/devices/"})
    page = client.get(f"/devices/{device.pk}/edit/").content.decode()
    assert "Edit device" in page and "cannot change after registration" in page
    taken = client.post(
        f"/devices/{device.pk}/edit/",
        {"name": "East gate", "serial": "SN-taken", "heartbeat_seconds": 60},
    )
    assert taken.status_code == 409
    assert "serial number is already registered." in taken.content.decode()
    blank = client.post(f"/devices/{device.pk}/edit/", {"name": "", "heartbeat_seconds": 1})
    html = blank.content.decode()
    assert blank.status_code == 422 and html.count("This field is required.") >= 2
    assert "greater than or equal to 10" in html.split('id="id_heartbeat_seconds"')[1]
    bad = client.post(f"/devices/{device.pk}/config/", {"config": "[1]"})
    html = bad.content.decode()
    assert "The configuration must be a JSON object" in html
    assert "Desired · version 0" in html and "Reported by the device · version 0" in html


def test_the_list_has_no_building_filter_without_buildings(login, world: World) -> None:  # type: ignore[no-untyped-def]
    page = login(world.manager_a).get(reverse("console:devices")).content.decode()
    assert 'id="filter-kind"' in page and 'id="filter-building"' not in page


def test_messages_show_as_json_and_the_toggle_says_what_it_does_in_english(  # type: ignore[no-untyped-def]
    login, world: World, system: Actor
) -> None:
    device = make_device(system, world.a, code="gate-3")
    DeviceMessage.objects.create(
        community=world.a,
        device=device,
        msg_id="e-1",
        type=UpType.EVENT,
        ts=timezone.now(),
        received_at=timezone.now(),
        transport=Transport.HTTP,
        payload={"event": "门被强开"},  # one key: PostgreSQL's jsonb keeps its own key order
    )
    client = login(world.manager_a)
    client.post("/i18n/setlang/", {"language": "en", "next": "/devices/"})
    page = client.get(reverse("console:device", args=[device.pk])).content.decode()
    shown = '{"event": "门被强开"}'.replace('"', "&quot;")
    assert f'title="{shown}">{shown}</code>' in page
    toggle = page.split('id="toggle-enabled">')[1].split("<")[0]
    assert toggle == "Disable"
