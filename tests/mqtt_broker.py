"""A private Mosquitto for tests: our generated configuration on a free port, stopped after."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Broker:
    """A running private broker: its port, configuration directory and process."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def reload(self) -> None:
        """Make the broker re-read its configuration, password and ACL files (SIGHUP)."""
        self.process.send_signal(1)
        time.sleep(0.3)

    def log(self) -> str:
        """Return what the broker wrote to its log."""
        path = self.directory / "mosquitto.log"
        return path.read_text() if path.exists() else ""


@contextmanager
def running_broker(directory: Path, port: int) -> Iterator[Broker]:
    """Run ``mosquitto -c directory/mosquitto.conf`` (written by broker-config) until exit."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    conf = directory / "test.conf"
    # Root-started Mosquitto drops to the `mosquitto` user unless told to stay.
    extra = f"log_dest file {directory / 'mosquitto.log'}\nlog_type all\nuser root\n"
    conf.write_text((directory / "mosquitto.conf").read_text() + extra)
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_port(port)
    except TimeoutError:
        process.kill()
        _, err = process.communicate()
        raise RuntimeError(f"mosquitto did not start: {err.decode(errors='replace')}") from None
    try:
        yield Broker(port, directory, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed_registry(
    community_codes: list[str], devices_per_community: int, directory: Path, broker_url: str
) -> dict[str, dict[str, str]]:
    """Register communities and devices with fresh secrets; write the broker files for them.

    Returns ``{device code: {"secret": ..., "community": ...}}``. Needs Django set up.
    """
    from linli.core.tenancy import Actor
    from linli.devices import credentials
    from linli.devices.models import Device
    from linli.places.actions import do_create_community

    system = Actor.system("test")
    made: dict[str, dict[str, str]] = {}
    for code in community_codes:
        community = do_create_community(system, name=f"社区 {code}", code=code)
        for n in range(devices_per_community):
            device = Device(
                community=community,
                code=f"{code}-dev-{n}",
                name=f"设备 {n}",
                kind="environment_sensor",
                serial=f"{code}-S{n}",
            )
            secret = credentials.issue(device)
            device.save()
            made[device.code] = {"secret": secret, "community": code}
    write_broker_files(directory, broker_url)
    return made


def write_broker_files(directory: Path, broker_url: str) -> None:
    """Write the broker files from the registry for a private broker on ``broker_url``'s port."""
    from urllib.parse import urlsplit

    from linli.devices import broker

    port = urlsplit(broker_url).port or 1883
    broker.write_from_registry(
        directory, broker.GatewayAccount.from_url(broker_url), host="127.0.0.1", port=port
    )


if __name__ == "__main__":
    # python -m tests.mqtt_broker DIR BROKER_URL COMMUNITY[,COMMUNITY] DEVICES_PER_COMMUNITY
    import json
    import sys

    import django

    django.setup()
    directory, url, communities, per = sys.argv[1:5]
    print(json.dumps(seed_registry(communities.split(","), int(per), Path(directory), url)))
