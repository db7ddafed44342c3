"""Device credentials: shown once, kept as hashes, checked in constant time, broker-ready."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from linli.devices import credentials
from linli.devices.models import Device
from tests.conftest import World


@pytest.fixture
def device(world: World) -> Device:
    return Device.objects.create(
        community=world.a, code="gate-1", name="南门人脸机", kind="face_terminal", serial="S1"
    )


def test_a_secret_is_kept_only_as_hashes(device: Device) -> None:
    secret = credentials.issue(device)
    device.save()
    stored = Device.objects.get(pk=device.pk)
    assert secret not in (stored.secret_hash, stored.signing_key_sealed, stored.mqtt_password_hash)
    assert credentials.check_token(stored, secret)
    assert not credentials.check_token(stored, secret + "x")
    assert not credentials.check_token(stored, "")
    assert stored.credential_version == 1


def test_rotation_retires_the_old_secret(device: Device) -> None:
    old = credentials.issue(device)
    new = credentials.issue(device)
    assert credentials.check_token(device, new) and not credentials.check_token(device, old)
    assert device.credential_version == 2


def test_signatures_use_the_derived_key(device: Device) -> None:
    secret = credentials.issue(device)
    key = credentials.signing_key(secret)
    good = credentials.signature(key, "1764300000", "n-1", b'{"a":1}')
    assert credentials.check_signature(device, "1764300000", "n-1", b'{"a":1}', good)
    assert not credentials.check_signature(device, "1764300000", "n-1", b'{"a":2}', good)
    assert not credentials.check_signature(device, "1764300001", "n-1", b'{"a":1}', good)


def test_the_broker_hash_is_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    entry = credentials.mosquitto_hash("s3cret", salt=b"0123456789ab")
    _, version, iterations, salt, digest = entry.split("$")
    assert (version, iterations) == ("7", "101")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac(
        "sha512", b"s3cret", base64.b64decode(salt), 101
    )
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    file = tmp_path / "pw"
    subprocess.run([tool, "-c", "-b", str(file), "dev", "s3cret"], check=True)
    theirs = file.read_text().strip().split(":", 1)[1]
    _, _, _, their_salt, their_digest = theirs.split("$")
    assert (
        base64.b64encode(
            hashlib.pbkdf2_hmac("sha512", b"s3cret", base64.b64decode(their_salt), 101)
        ).decode()
        == their_digest
    )


def test_secrets_never_look_like_command_line_options() -> None:
    assert not any(credentials.new_secret().startswith("-") for _ in range(2000))
