"""In Chromium: the device pages — list and filter, a device's telemetry and commands,
registering one (the secret shown once), editing it, its configuration, in English too."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.utils import timezone

from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.devices import status
from linli.devices.choices import Transport, UpType
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.actions import do_create_community
from tests.tenancy_devices import make_device
from tests.test_browser import PASSWORD, chromium_page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def estate() -> Device:
    """A community with two devices (one online with a day of readings) and its manager."""
    system = Actor.system("browser-test")
    community = do_create_community(system, name="翠苑一区", code="demo", division_code="330106")
    user = do_create_user(system, username="device-manager", password=PASSWORD)
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)
    sensor = make_device(
        system, community, code="env-1", name="花园环境监测", kind="environment_sensor"
    )
    make_device(system, community, code="gate-1", name="南门门禁", kind="door_controller")
    now = timezone.now()
    status.mark_online(sensor, status.MESSAGE, now)
    DeviceMessage.objects.bulk_create(
        [
            DeviceMessage(
                community=community,
                device=sensor,
                msg_id=f"t-{h}",
                type=UpType.TELEMETRY,
                ts=now - dt.timedelta(hours=h),
                received_at=now - dt.timedelta(hours=h),
                transport=Transport.HTTP,
                payload={"metrics": {"temperature": 18 + h % 7}},
            )
            for h in range(23)
        ]
        + [
            DeviceMessage(
                community=community,
                device=sensor,
                msg_id="e-1",
                type=UpType.EVENT,
                ts=now,
                received_at=now,
                transport=Transport.HTTP,
                payload={"event": "battery_low", "severity": "warning", "data": {}},
            )
        ]
    )
    return sensor


def test_device_pages_in_a_browser(live_server: Any, chromium_page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    sensor = estate()
    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "device-manager")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")

    # The list: both devices, their status counts, a filter.
    page.click("#nav-devices")
    expect(page.locator("#page-title")).to_have_text("设备")
    expect(page.locator("#list-table tbody tr")).to_have_count(2)
    expect(page.locator('[data-count="online"]')).to_have_text("1")
    page.select_option("#filter-status", "online")
    page.locator("#list-filters").evaluate("form => form.submit()")
    expect(page.locator("#list-table tbody tr")).to_have_count(1)
    page.click("#list-table >> text=花园环境监测")

    # The device: its telemetry drawn as a chart, its events, a command.
    expect(page.locator("#page-title")).to_contain_text("花园环境监测")
    chart = page.locator("#telemetry svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200
    expect(page.locator("#device-events")).to_contain_text("battery_low")
    page.click('[data-command="reboot"]')
    expect(page.locator("#device-commands tbody tr")).to_have_count(1)
    expect(page.locator("#device-commands")).to_contain_text("重启")
    assert Command.objects.filter(device=sensor, name="reboot").exists()

    # Edit it, with a mistake first.
    page.click("#edit-device")
    page.fill("#id_name", "")
    page.click("#device-edit-form [type=submit]")
    expect(page.locator("#device-edit-form .invalid-feedback").first).to_be_visible()
    page.fill("#id_name", "花园气象站")
    page.click("#device-edit-form [type=submit]")
    expect(page.locator("#page-title")).to_contain_text("花园气象站")

    # Its configuration: invalid JSON is refused on the form, a valid object is sent.
    page.click("#device-config")
    page.fill("#id_config", "{broken")
    page.click("#config-form [type=submit]")
    expect(page.locator("#config-form")).to_contain_text("不是有效的 JSON")
    page.fill("#id_config", '{"interval": 60}')
    page.click("#config-form [type=submit]")
    expect(page.locator("#page-title")).to_contain_text("花园气象站")
    assert Command.objects.filter(device=sensor, name="set_config").exists()

    # Register a device: the secret appears once, on the answer page only.
    page.click("#nav-devices")
    page.click("#device-new")
    page.select_option("#id_kind", "smoke_detector")
    page.fill("#id_code", "smoke-1")
    page.fill("#id_name", "配电房烟感")
    page.fill("#id_serial", "HM-1")
    page.click("#device-form [type=submit]")
    secret = page.inner_text("#secret-value").strip()
    assert len(secret) >= 20
    page.click("#nav-devices")
    page.click("#list-table >> text=配电房烟感")
    expect(page.locator("#page-title")).to_contain_text("配电房烟感")
    expect(page.locator("#device-secret")).to_have_count(0)
    assert secret not in page.content()

    # In English.
    page.click('#language-switch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#nav-devices")
    expect(page.locator("#page-title")).to_have_text("Devices")
    expect(page.locator("#list-table")).to_contain_text("Smoke detector")

    # On a phone nothing is wider than the screen (wide tables scroll in their cards).
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/devices/{sensor.pk}/", f"/devices/{sensor.pk}/config/"):
        page.goto(f"{live_server.url}{path}")
        scroll, screen, wider = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert scroll <= screen, (path, scroll, wider)


# The page's width, the screen's, and the first elements reaching past the screen's edge.
WIDER_THAN_THE_SCREEN = """() => {
  const screen = document.documentElement.clientWidth;
  const wider = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > screen + 1)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
  return [document.documentElement.scrollWidth, screen, wider];
}"""
