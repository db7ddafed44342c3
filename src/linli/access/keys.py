"""Communities' 一码通 signing keys: create, rotate, revoke, and a per-process cache.

The private key is sealed with the core field encryption; the public key is published to
the community's terminals (sync) so they verify passes offline. Verification in this
process reads keys through :class:`KeyCache`, refreshed every few seconds and at once
after a change made here: a key revoked in another process stops verifying here within
:data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.access import passes
from linli.access.models import SigningKey
from linli.core import crypto

CACHE_SECONDS = 5.0
# A rotated key keeps verifying this long, so passes it signed just before rotation work.
GRACE = dt.timedelta(seconds=passes.MAX_LIFETIME + passes.CLOCK_SKEW)
_PURPOSE = "access.signing_key"


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@transaction.atomic
def create_key(community_id: int, now: dt.datetime | None = None) -> SigningKey:
    """Make a new signing key the community's current one; older keys retire (with grace)."""
    now = now or timezone.now()
    SigningKey.objects.filter(
        community_id=community_id, retired_at__isnull=True, revoked_at__isnull=True
    ).update(retired_at=now)
    private = passes.new_private_key()
    row = SigningKey.objects.create(
        community_id=community_id,
        public_key=_raw_public(private.public_key()),
        private_sealed=crypto.seal(base64.b64encode(_raw_private(private)), _PURPOSE),
    )
    cache.forget(community_id)
    return row


@transaction.atomic
def revoke_key(key: SigningKey, now: dt.datetime | None = None) -> None:
    """Withdraw a key at once (it leaked): nothing it signed verifies any more."""
    now = now or timezone.now()
    SigningKey.objects.filter(pk=key.pk).update(revoked_at=now, retired_at=key.retired_at or now)
    cache.forget(key.community_id)


def private_key(row: SigningKey) -> Ed25519PrivateKey:
    """Open a key's sealed private half."""
    raw = base64.b64decode(crypto.unseal(row.private_sealed, _PURPOSE))
    return Ed25519PrivateKey.from_private_bytes(raw)


@dataclasses.dataclass(frozen=True)
class CommunityKeys:
    """What verifying a community's passes needs, as of ``loaded``."""

    signer_id: int | None  # the current key, None if the community has none yet
    public: dict[int, Ed25519PublicKey]  # keys that verify now
    revoked: frozenset[int]
    loaded: float


def load(community_id: int, now: dt.datetime | None = None) -> CommunityKeys:
    """Read a community's keys from the database."""
    now = now or timezone.now()
    public: dict[int, Ed25519PublicKey] = {}
    revoked: set[int] = set()
    signer: int | None = None
    rows = SigningKey.objects.filter(community_id=community_id).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=now - GRACE) | Q(revoked_at__isnull=False)
    )
    for row in rows.order_by("-created_at", "-pk"):
        if row.revoked_at is not None:
            revoked.add(row.pk)
            continue
        public[row.pk] = Ed25519PublicKey.from_public_bytes(bytes(row.public_key))
        if row.retired_at is None and signer is None:
            signer = row.pk
    return CommunityKeys(signer, public, frozenset(revoked), time.monotonic())


class KeyCache:
    """Community keys per process, reloaded after :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[int, CommunityKeys] = {}
        self._private: dict[int, Ed25519PrivateKey] = {}

    def get(self, community_id: int) -> CommunityKeys:
        """Return the community's keys, reading them again when stale."""
        with self._lock:
            keys = self._keys.get(community_id)
        if keys is None or time.monotonic() - keys.loaded > CACHE_SECONDS:
            keys = load(community_id)
            with self._lock:
                self._keys[community_id] = keys
        return keys

    def signer(self, community_id: int) -> tuple[int, Ed25519PrivateKey]:
        """Return the current key id and private key (creating the first key if none)."""
        keys = self.get(community_id)
        if keys.signer_id is None:
            create_key(community_id)
            keys = self.get(community_id)
        if keys.signer_id is None:
            raise RuntimeError(f"community {community_id} has no signing key")
        with self._lock:
            private = self._private.get(keys.signer_id)
        if private is None:
            private = private_key(SigningKey.objects.get(pk=keys.signer_id))
            with self._lock:
                self._private[keys.signer_id] = private
        return keys.signer_id, private

    def forget(self, community_id: int | None = None) -> None:
        """Drop cached keys (after a change, or in tests)."""
        with self._lock:
            if community_id is None:
                self._keys.clear()
                self._private.clear()
            else:
                self._keys.pop(community_id, None)


cache = KeyCache()


def public_keys_document(community_id: int) -> dict[str, object]:
    """The keys a terminal needs to verify passes offline (sent with its sync).

    A community without a key yet gets its first one, so terminals always hold one.
    """
    cache.signer(community_id)
    keys = cache.get(community_id)
    return {
        "community_id": community_id,
        "keys": [
            {"kid": kid, "ed25519": base64.b64encode(_raw_public(key)).decode()}
            for kid, key in sorted(keys.public.items())
        ],
        "revoked": sorted(keys.revoked),
    }
