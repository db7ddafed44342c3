"""Field encryption for sensitive personal data: AES-256-GCM with key ids, plus keyed hashes.

``LINLI_DATA_KEY`` is a key ring: ``"kid:base64key[,kid:base64key…]"``. The first key
encrypts; every listed key decrypts, so rotation is "put the new key first, run
``linli rotate-keys``, then drop the old one". Keys are 16, 24 or 32 bytes.

Lookup hashes (HMAC-SHA256 under a key derived with HKDF per purpose) let the platform
find a record by an exact ID number or phone without decrypting anything. They use the key
named by ``LINLI_LOOKUP_KEY_ID`` (default: the last key of the ring, the oldest), so they
stay stable while encryption keys rotate.

A sealed value is text: ``"v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>"``. The
associated data binds it to its purpose (e.g. ``"person.id_number"``), so a value copied
into another column fails to open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_VERSION = "v1"


class CryptoError(ValueError):
    """A key ring is malformed, or a sealed value is forged, damaged or unknown."""


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id; ``active`` encrypts, all decrypt."""

    keys: dict[str, bytes]
    active: str
    lookup: str

    @classmethod
    def parse(cls, spec: str, lookup_key_id: str = "") -> KeyRing:
        """Parse ``"kid:base64key,…"`` into a key ring."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            kid, sep, b64 = item.partition(":")
            if not sep or not _KID.match(kid):
                raise CryptoError(f"key ring entry {kid!r}: expected 'kid:base64key'")
            try:
                key = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CryptoError(f"key {kid!r} is not valid base64") from exc
            if len(key) not in (16, 24, 32):
                raise CryptoError(f"key {kid!r} must be 16, 24 or 32 bytes, not {len(key)}")
            if kid in keys:
                raise CryptoError(f"key id {kid!r} appears twice")
            keys[kid] = key
            order.append(kid)
        if not keys:
            raise CryptoError("the key ring is empty")
        lookup = lookup_key_id or order[-1]
        if lookup not in keys:
            raise CryptoError(f"lookup key id {lookup!r} is not in the key ring")
        return cls(keys=keys, active=order[0], lookup=lookup)

    def seal(self, plaintext: str | bytes, purpose: str) -> str:
        """Encrypt ``plaintext`` for ``purpose`` under the active key."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self.keys[self.active]).encrypt(nonce, data, purpose.encode())
        return f"{_VERSION}.{self.active}.{base64.urlsafe_b64encode(blob).decode()}"

    def open_bytes(self, sealed: str, purpose: str) -> bytes:
        """Decrypt a sealed value; raise :class:`CryptoError` if it was tampered with."""
        try:
            version, kid, b64 = sealed.split(".", 2)
        except ValueError as exc:
            raise CryptoError("not a sealed value") from exc
        if version != _VERSION:
            raise CryptoError(f"unknown sealed-value version {version!r}")
        key = self.keys.get(kid)
        if key is None:
            raise CryptoError(f"sealed with key {kid!r}, which is not in the key ring")
        try:
            blob = base64.urlsafe_b64decode(b64.encode())
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("sealed value is not valid base64") from exc
        if len(blob) < 12 + 16:
            raise CryptoError("sealed value is truncated")
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], purpose.encode())
        except InvalidTag as exc:
            raise CryptoError("sealed value failed authentication (tampered or misplaced)") from exc

    def open(self, sealed: str, purpose: str) -> str:
        """Decrypt a sealed text value."""
        return self.open_bytes(sealed, purpose).decode()

    def key_id_of(self, sealed: str) -> str:
        """Return the id of the key that sealed a value."""
        parts = sealed.split(".", 2)
        if len(parts) != 3:
            raise CryptoError("not a sealed value")
        return parts[1]

    def needs_rotation(self, sealed: str) -> bool:
        """Say whether a value was sealed under a key other than the active one."""
        return self.key_id_of(sealed) != self.active

    def reseal(self, sealed: str, purpose: str) -> str:
        """Re-encrypt a value under the active key (no-op if it already is)."""
        if not self.needs_rotation(sealed):
            return sealed
        return self.seal(self.open_bytes(sealed, purpose), purpose)

    def lookup_hash(self, value: str, purpose: str) -> str:
        """Return a keyed hash of ``value`` for exact-match search (hex, 64 chars)."""
        return hmac.new(self.purpose_key(purpose), value.encode(), hashlib.sha256).hexdigest()

    def purpose_key(self, purpose: str) -> bytes:
        """Return the HMAC key of one purpose (independent of every other purpose's key).

        Only for a purpose whose hashes others must compute too (a terminal matching a
        card offline is given its community's key); never for a purpose kept secret.
        """
        return _derive(self.keys[self.lookup], purpose)


@lru_cache(maxsize=64)
def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"linli-lookup", info=purpose.encode()
    ).derive(master)


def generate_key(kid: str = "k1") -> str:
    """Return a fresh key-ring entry ``"kid:base64key"`` with a 256-bit key."""
    if not _KID.match(kid):
        raise CryptoError("key id must be 1-16 letters, digits, '-' or '_'")
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


@lru_cache(maxsize=4)
def _ring_for(spec: str, lookup_key_id: str) -> KeyRing:
    return KeyRing.parse(spec, lookup_key_id)


def keyring() -> KeyRing:
    """Return the process's key ring from settings."""
    from django.conf import settings

    return _ring_for(settings.LINLI_DATA_KEY, settings.LINLI_LOOKUP_KEY_ID)


def seal(plaintext: str | bytes, purpose: str) -> str:
    """Encrypt with the configured key ring."""
    return keyring().seal(plaintext, purpose)


def unseal(sealed: str, purpose: str) -> str:
    """Decrypt text with the configured key ring."""
    return keyring().open(sealed, purpose)


def lookup_hash(value: str, purpose: str) -> str:
    """Return the keyed lookup hash of ``value`` with the configured key ring."""
    return keyring().lookup_hash(value, purpose)


def purpose_key(purpose: str) -> bytes:
    """Return the HMAC key of one purpose with the configured key ring (see KeyRing)."""
    return keyring().purpose_key(purpose)
