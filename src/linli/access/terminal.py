"""What a door terminal does offline: read a QR pass from a camera image and decide locally.

A reference for terminal vendors and the simulator's terminals: it holds the allowlist
and keys a terminal fetched (:mod:`linli.access.sync`), reads a pass from an image with
zxing-cpp, verifies it with the community's public keys, refuses a nonce it has seen
before the pass expired, finds the credential in the allowlist and applies its rules for
the access point now. No database: only what the platform sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import threading
import zoneinfo
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from linli.access import passes, schedules
from linli.access.choices import Effect


class NoCode(ValueError):
    """The image holds no readable QR code."""


class Replayed(ValueError):
    """A pass this terminal has already accepted, shown again before it expired."""


def read_qr(image: bytes) -> str:
    """Return the text of the first QR code in an image (PNG, JPEG…), or raise NoCode."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise NoCode("not an image") from exc
    found = [c for c in zxingcpp.read_barcodes(picture.convert("L")) if c.valid]
    if not found:
        raise NoCode("no QR code in the image")
    return str(found[0].text)


def render_qr(text: str, scale: int = 4) -> bytes:
    """Render text as a QR code PNG (what a resident's phone shows)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


class OfflineTerminal:
    """A terminal's offline state: keys, allowlist entries, schedules, seen nonces."""

    def __init__(self, community_id: int, time_zone: str = "Asia/Shanghai") -> None:
        self.community_id = community_id
        self.zone = zoneinfo.ZoneInfo(time_zone)
        self.version = 0
        self.keys: dict[int, Ed25519PublicKey] = {}
        self.revoked: frozenset[int] = frozenset()
        self.sync_key = b""
        self.entries: dict[int, dict[str, Any]] = {}
        self.by_match: dict[str, int] = {}
        self.plans: dict[int, schedules.Plan] = {}
        self.holidays: dict[dt.date, str] = {}
        self._seen: dict[tuple[int, bytes], int] = {}
        self._pruned = 0.0
        self._lock = threading.Lock()

    def apply(self, doc: dict[str, Any]) -> None:
        """Take in an allowlist document (full or incremental)."""
        if doc["full"]:
            self.entries.clear()
            self.sync_key = base64.b64decode(doc["sync_key"])
        for credential_id in doc.get("remove", ()):
            self.entries.pop(credential_id, None)
        for entry in doc["entries"]:
            self.entries[entry["credential_id"]] = entry
        self.by_match = {e["match"]: cid for cid, e in self.entries.items() if e.get("match")}
        for sid, spec in doc["schedules"].items():
            self.plans[int(sid)] = schedules.Plan(
                windows=tuple(schedules.parse_windows(spec["windows"])),
                holiday_rule=spec["holiday_rule"],
                holiday_windows=tuple(
                    schedules.parse_windows(spec["holiday_windows"], with_days=False)
                ),
                date_from=dt.date.fromisoformat(spec["date_from"]) if spec["date_from"] else None,
                date_to=dt.date.fromisoformat(spec["date_to"]) if spec["date_to"] else None,
            )
        self.holidays = {dt.date.fromisoformat(d): k for d, k in doc["holidays"].items()}
        self.apply_keys(doc["keys"])
        self.version = doc["version"]

    def apply_keys(self, doc: dict[str, Any]) -> None:
        """Take in the community's public keys (``GET /device/v1/access/keys``)."""
        self.keys = {
            k["kid"]: Ed25519PublicKey.from_public_bytes(base64.b64decode(k["ed25519"]))
            for k in doc["keys"]
        }
        self.revoked = frozenset(doc["revoked"])

    def verify_pass(self, text: str, now: float) -> passes.Claims:
        """Verify a pass offline and remember its nonce (raises PassRefused or Replayed)."""
        claims = passes.verify(
            text,
            keys=self.keys,
            community_id=self.community_id,
            now=now,
            scope=passes.Scope.DOOR | passes.Scope.VISITOR,
            revoked=self.revoked,
        )
        key = (claims.key_id, claims.nonce)
        with self._lock:
            if now - self._pruned >= 1.0:  # forget expired nonces once a second, not per pass
                self._seen = {k: exp for k, exp in self._seen.items() if exp >= now}
                self._pruned = now
            if self._seen.get(key, -1) >= now:
                raise Replayed(text[:12])
            self._seen[key] = claims.expires_at + passes.CLOCK_SKEW
        return claims

    def match(self, kind: str, value: str) -> int | None:
        """The credential id of a card UID or PIN, by its keyed match."""
        if kind == "card":
            value = "".join(c for c in value.upper() if c.isalnum())
        digest = hmac.new(self.sync_key, value.encode(), hashlib.sha256).hexdigest()
        return self.by_match.get(digest)

    def decide(self, point: str, credential_id: int | None, when: dt.datetime) -> tuple[bool, str]:
        """Decide from the allowlist: ``(allowed, reason)`` with the platform's reasons."""
        entry = self.entries.get(credential_id) if credential_id is not None else None
        if entry is None:
            return False, "unknown_credential"
        if entry["valid_until"] and when >= dt.datetime.fromisoformat(entry["valid_until"]):
            return False, "credential_expired"
        if entry["valid_from"] and when < dt.datetime.fromisoformat(entry["valid_from"]):
            return False, "credential_not_yet_valid"
        rules = entry["rules"].get(point)
        if not rules:
            return False, "no_permission"
        local = when.astimezone(self.zone)
        applying = []
        for effect, schedule_id, valid_from, valid_until in rules:
            if valid_from and when < dt.datetime.fromisoformat(valid_from):
                continue
            if valid_until and when >= dt.datetime.fromisoformat(valid_until):
                continue
            if schedule_id is not None:
                plan = self.plans.get(schedule_id)
                if plan is None or not schedules.is_open(plan, local, self.holidays.get):
                    continue
            applying.append(effect)
        if Effect.DENY in applying:
            return False, "denied_by_policy"
        if Effect.ALLOW in applying:
            visitor = entry["holder"].startswith("v:")
            return True, "visitor_allowed" if visitor else "allowed"
        return False, "outside_schedule"

    def decide_image(self, point: str, image: bytes, when: dt.datetime) -> tuple[bool, str]:
        """Read a pass from a camera image and decide offline."""
        try:
            text = read_qr(image)
        except NoCode:
            return False, "no_code"
        try:
            claims = self.verify_pass(text, when.timestamp())
        except Replayed:
            return False, "replayed"
        except passes.PassRefused as refused:
            return False, f"pass_{refused.reason.value}"
        return self.decide(point, claims.credential_id, when)
