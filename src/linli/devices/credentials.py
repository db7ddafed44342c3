"""Device credentials: a secret shown once, kept only as hashes and a sealed signing key.

A device authenticates with its id and secret:

* **token** (HTTP ``Authorization: Bearer <secret>``, MQTT password): checked against
  ``secret_hash`` (SHA-256; the secret has 256 bits of entropy, so no slow hash is needed);
* **signature** (HTTP, HMAC-SHA256 over timestamp, nonce and body): keyed with
  ``signing_key = HMAC-SHA256(secret, "linli/device/v1/sign")``, which the platform keeps
  sealed (AES-GCM) because it must compute the same HMAC;
* **broker**: ``mqtt_password_hash`` is the secret in Mosquitto's password-file format
  (PBKDF2-SHA512, ``$7$``), so a broker can check devices without calling the platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.utils import timezone

from linli.core import crypto
from linli.devices.models import Device

SIGNING_PURPOSE = "device.signing_key"
_SIGN_LABEL = b"linli/device/v1/sign"
MOSQUITTO_ITERATIONS = 101
MOSQUITTO_SALT_BYTES = 12


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def signing_key(secret: str) -> bytes:
    """Return the HMAC key a device derives from its secret to sign HTTP requests."""
    return hmac.new(secret.encode(), _SIGN_LABEL, hashlib.sha256).digest()


def mosquitto_hash(secret: str, *, salt: bytes | None = None) -> str:
    """Return ``secret`` hashed as a Mosquitto 2 password-file entry (``$7$``, PBKDF2-SHA512)."""
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, MOSQUITTO_ITERATIONS)
    salt_b64 = base64.b64encode(salt).decode()
    return f"$7${MOSQUITTO_ITERATIONS}${salt_b64}${base64.b64encode(digest).decode()}"


def new_secret() -> str:
    """Return a fresh 256-bit secret, URL-safe and never starting with "-".

    A leading "-" would make ``linli device-check --secret <secret>`` and similar command
    lines read the secret as an option.
    """
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret


def issue(device: Device) -> str:
    """Give ``device`` a new secret (unsaved fields set); return the secret, to show once."""
    secret = new_secret()
    device.secret_hash = _sha256(secret)
    device.signing_key_sealed = crypto.seal(signing_key(secret), SIGNING_PURPOSE)
    device.mqtt_password_hash = mosquitto_hash(secret)
    device.credential_version += 1
    device.credential_issued_at = timezone.now()
    return secret


def check_token(device: Device, token: str) -> bool:
    """Say whether ``token`` is the device's current secret (constant time)."""
    if not device.secret_hash or not token:
        return False
    return hmac.compare_digest(device.secret_hash, _sha256(token))


def device_signing_key(device: Device) -> bytes:
    """Return the device's signing key (opened from its sealed copy)."""
    return crypto.keyring().open_bytes(device.signing_key_sealed, SIGNING_PURPOSE)


def signature(key: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 a request carries: over ``timestamp\\nnonce\\nbody``."""
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_signature(device: Device, timestamp: str, nonce: str, body: bytes, given: str) -> bool:
    """Say whether ``given`` is the device's signature of the request (constant time)."""
    if not device.signing_key_sealed or not given:
        return False
    expected = signature(device_signing_key(device), timestamp, nonce, body)
    return hmac.compare_digest(expected, given.lower())
