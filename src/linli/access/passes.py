"""The 一码通 pass: a short-lived token signed with Ed25519, carried in a QR code.

A pass is 95 bytes: a 31-byte body and its Ed25519 signature. The body (big-endian):

====== ======= ===============================================================
offset length  field
====== ======= ===============================================================
0      1       format version (1)
1      4       key id: which of the community's signing keys signed it
5      4       community id
9      8       credential id (the 一码通 credential of a person or a visitor pass)
17     4       issued at, Unix seconds
21     1       lifetime in seconds (1–60)
22     1       scope: bit 0 doors, bit 1 parcel pick-up, bit 2 visitor entry
23     8       nonce (random)
====== ======= ===============================================================

The signature covers the domain tag ``linli-pass-v1`` followed by the body, so a signature
made for anything else never verifies as a pass. In the QR code the pass is the text
``LP1:`` followed by the 95 bytes in base45 (RFC 9285), 143 characters from QR's
alphanumeric set, so the code stays small (version 6 at error correction level M).

A terminal that holds the community's public keys verifies a pass offline with
:func:`verify`: format, key, signature, community, time window and scope, each failure
with its own reason. Replays within a pass's lifetime are refused by whoever keeps the
nonces: the server (see :mod:`linli.access.decisions`) or the terminal itself.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = 1
PREFIX = "LP1:"
DOMAIN = b"linli-pass-v1"
MAX_LIFETIME = 60
CLOCK_SKEW = 5  # seconds a terminal's clock may be ahead of or behind the issuer's
_BODY = struct.Struct("!BIIQIBB8s")
BODY_BYTES = _BODY.size  # 31
SIGNATURE_BYTES = 64
PASS_BYTES = BODY_BYTES + SIGNATURE_BYTES
TEXT_CHARS = PASS_BYTES // 2 * 3 + PASS_BYTES % 2 * 2  # base45 characters after the prefix


class Scope(enum.IntFlag):
    """What a pass may be used for."""

    DOOR = 1
    PARCEL = 2
    VISITOR = 4


ALL_SCOPES = Scope.DOOR | Scope.PARCEL | Scope.VISITOR


class Refusal(enum.StrEnum):
    """Why a pass is refused (the reason codes terminals and the API report)."""

    MALFORMED = "malformed"  # not a pass at all: wrong prefix, not base45
    TRUNCATED = "truncated"  # too short or too long to be a pass
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KEY = "unknown_key"  # no such key id for this community
    REVOKED_KEY = "revoked_key"  # the key was withdrawn (compromised)
    FORGED = "forged"  # the signature does not verify
    WRONG_COMMUNITY = "wrong_community"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_SCOPE = "wrong_scope"
    BAD_LIFETIME = "bad_lifetime"


class PassRefused(ValueError):
    """A pass did not verify; ``reason`` says why."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a pass says."""

    key_id: int
    community_id: int
    credential_id: int
    issued_at: int  # Unix seconds
    lifetime: int  # seconds
    scope: Scope
    nonce: bytes

    @property
    def expires_at(self) -> int:
        """Unix second after which the pass is expired."""
        return self.issued_at + self.lifetime


# Base45 (RFC 9285) ---------------------------------------------------------------------

_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_CHARS = frozenset(_B45)
_B45_VALUES = bytes.maketrans(_B45.encode(), bytes(range(45)))  # character → its value


def b45encode(data: bytes) -> str:
    """Encode bytes as base45 (RFC 9285 §4)."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, n = divmod(n, 45 * 45)
        d, c = divmod(n, 45)
        out.append(_B45[c] + _B45[d] + _B45[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(_B45[c] + _B45[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode base45; raise ``ValueError`` for a character or length RFC 9285 forbids."""
    if len(text) % 3 == 1:
        raise ValueError("base45 text length leaves a single character")
    if not _B45_CHARS.issuperset(text):
        bad = next(c for c in text if c not in _B45_CHARS)
        raise ValueError(f"not a base45 character: {bad!r}")
    values = text.encode("ascii").translate(_B45_VALUES)
    out = bytearray()
    for i in range(0, len(values) - 2, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 45 * 45
        if n > 0xFFFF:
            raise ValueError("base45 triple out of range")
        out += n.to_bytes(2, "big")
    if len(values) % 3 == 2:
        n = values[-2] + values[-1] * 45
        if n > 0xFF:
            raise ValueError("base45 pair out of range")
        out.append(n)
    return bytes(out)


# Issuing and verifying -------------------------------------------------------------------


def new_private_key() -> Ed25519PrivateKey:
    """Return a fresh signing key."""
    return Ed25519PrivateKey.generate()


def issue(
    key: Ed25519PrivateKey,
    *,
    key_id: int,
    community_id: int,
    credential_id: int,
    issued_at: int,
    lifetime: int = 30,
    scope: Scope = Scope.DOOR,
    nonce: bytes | None = None,
) -> str:
    """Sign a pass and return its QR text (``LP1:…``)."""
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1–{MAX_LIFETIME} seconds")
    if not scope or scope & ~ALL_SCOPES:
        raise ValueError("scope must name at least one known use")
    body = _BODY.pack(
        VERSION,
        key_id,
        community_id,
        credential_id,
        issued_at,
        lifetime,
        int(scope),
        nonce if nonce is not None else secrets.token_bytes(8),
    )
    return PREFIX + b45encode(body + key.sign(DOMAIN + body))


def read(text: str) -> tuple[Claims, bytes, bytes]:
    """Parse a pass without checking it: (claims, signed body, signature)."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise PassRefused(Refusal.MALFORMED, "not a Linli pass")
    encoded = text[len(PREFIX) :]
    if not _B45_CHARS.issuperset(encoded):
        raise PassRefused(Refusal.MALFORMED, "not base45")
    if len(encoded) != TEXT_CHARS:
        raise PassRefused(Refusal.TRUNCATED, f"{len(encoded)} characters, expected {TEXT_CHARS}")
    try:
        raw = b45decode(encoded)
    except ValueError as exc:
        raise PassRefused(Refusal.MALFORMED, str(exc)) from None
    body, signature = raw[:BODY_BYTES], raw[BODY_BYTES:]
    version, kid, community, credential, issued, lifetime, scope, nonce = _BODY.unpack(body)
    if version != VERSION:
        raise PassRefused(Refusal.UNSUPPORTED_VERSION, f"version {version}")
    claims = Claims(kid, community, credential, issued, lifetime, Scope(scope & ALL_SCOPES), nonce)
    return claims, body, signature


def verify(
    text: str,
    *,
    keys: Mapping[int, Ed25519PublicKey],
    community_id: int,
    now: float,
    scope: Scope = Scope.DOOR,
    revoked: frozenset[int] = frozenset(),
) -> Claims:
    """Check a pass offline; return its claims or raise :class:`PassRefused`.

    ``keys`` are the community's public keys by key id (current and recently rotated
    ones); ``revoked`` the ids of keys withdrawn before their time.
    """
    claims, body, signature = read(text)
    if claims.key_id in revoked:
        raise PassRefused(Refusal.REVOKED_KEY, f"key {claims.key_id}")
    public = keys.get(claims.key_id)
    if public is None:
        raise PassRefused(Refusal.UNKNOWN_KEY, f"key {claims.key_id}")
    try:
        public.verify(signature, DOMAIN + body)
    except InvalidSignature:
        raise PassRefused(Refusal.FORGED) from None
    if claims.community_id != community_id:
        raise PassRefused(Refusal.WRONG_COMMUNITY)
    if not 1 <= claims.lifetime <= MAX_LIFETIME:
        raise PassRefused(Refusal.BAD_LIFETIME, f"{claims.lifetime} s")
    if now < claims.issued_at - CLOCK_SKEW:
        raise PassRefused(Refusal.NOT_YET_VALID)
    if now > claims.expires_at + CLOCK_SKEW:
        raise PassRefused(Refusal.EXPIRED)
    if not claims.scope & scope:
        raise PassRefused(Refusal.WRONG_SCOPE)
    return claims


__all__ = [
    "ALL_SCOPES",
    "Claims",
    "PassRefused",
    "Refusal",
    "Scope",
    "b45decode",
    "b45encode",
    "issue",
    "new_private_key",
    "read",
    "verify",
]
