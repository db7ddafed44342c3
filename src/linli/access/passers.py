"""The simulator's foot traffic: residents showing their 一码通 at simulated door terminals.

For the demo, ``linli simulate`` on the platform's own machine lets people walk through
the doors: now and then a resident allowed at an access point takes out their phone (a
fresh pass from the platform, rendered as a QR image), the terminal's camera reads it
(zxing-cpp), the terminal checks it offline with the community's keys, then asks the
platform, which logs the passage. A few people try a door they may not use, or show a
screenshot of a pass twice. The counts go into the simulator's summary line.

How a terminal asks depends on the simulator's link (:class:`HttpDoors`,
:class:`MqttDoors`): over HTTP it fetches the keys (``GET access/keys``) and posts to the
decision endpoint; over MQTT it publishes an ``access_request`` and waits for the
``access_decision`` on its down topic.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import secrets
from typing import Any, Protocol

from linli.access import actions, keys, terminal
from linli.access.models import AccessPoint, AccessRight
from linli.devices.simulator import DeviceCredential, HttpDevice, MqttLink, Stats, now_ms

TERMINAL_KINDS = ("face_terminal", "door_controller", "code_reader", "barrier_gate")
STRANGER_SHARE = 0.1  # people trying a door they may not open
REPLAY_SHARE = 0.05  # a screenshot shown a second time


def attach_terminals(community_id: int, devices: list[DeviceCredential]) -> int:
    """Attach the simulated terminals to the community's access points, in turn."""
    from linli.devices.models import Device

    points = list(AccessPoint.objects.filter(community_id=community_id, enabled=True))
    if not points:
        return 0
    attached = 0
    for n, cred in enumerate(d for d in devices if d.kind in TERMINAL_KINDS):
        device = Device.objects.get(code=cred.device_id)
        points[n % len(points)].devices.add(device)
        attached += 1
    return attached


class Doors(Protocol):
    """How the simulated terminals reach the platform. Each answer is a dict, or a string
    saying why there was none (counted as a refusal by that name)."""

    def keys(self, code: str, community_id: int) -> dict[str, Any] | str:
        """The community's public pass keys, as the terminal ``code`` holds them."""
        ...

    def decide(self, code: str, body: dict[str, Any]) -> dict[str, Any] | str:
        """Ask for a decision; the answer has ``result`` and ``reason``."""
        ...


class HttpDoors:
    """Terminals on the HTTP device API: ``GET access/keys`` and ``POST access/decide``."""

    def __init__(self, base_url: str, devices: list[DeviceCredential]) -> None:
        self.clients = {d.device_id: HttpDevice(base_url, d.device_id, d.secret) for d in devices}

    def keys(self, code: str, community_id: int) -> dict[str, Any] | str:
        answer = self.clients[code].request("GET", "access/keys")
        return answer.body if answer.status == 200 else f"door_keys_{answer.status}"

    def decide(self, code: str, body: dict[str, Any]) -> dict[str, Any] | str:
        answer = self.clients[code].request("POST", "access/decide", json.dumps(body).encode())
        return answer.body if answer.status == 200 else f"door_http_{answer.status}"


class MqttDoors:
    """Terminals on the broker: an ``access_request`` each, answered on
    ``down/access_decision``.

    The keys are the ones a terminal's allowlist sync brings (``keys`` of
    :func:`linli.access.sync.allowlist`); the passers run where the platform's database is,
    so they are read from it rather than fetched over HTTP.
    """

    def __init__(self, link: MqttLink, timeout: float = 10.0) -> None:
        self.link = link
        self.timeout = timeout
        # Message ids new in every run: a request id the platform has seen is answered
        # with its first answer (a resend), not decided again.
        self._run = secrets.token_hex(4)
        self._numbers = itertools.count(1)

    def keys(self, code: str, community_id: int) -> dict[str, Any] | str:
        return keys.public_keys_document(community_id)

    def decide(self, code: str, body: dict[str, Any]) -> dict[str, Any] | str:
        message = {
            "msg_id": f"door-{self._run}-{next(self._numbers)}",
            "device_id": code,
            "ts": now_ms(),
            "type": "access_request",
            "payload": body,
        }
        if code not in self.link.clients:
            return "door_not_connected"
        answer = self.link.ask(code, message, self.timeout)
        return answer if answer is not None else "door_no_answer"


class Passers:
    """People passing the simulated terminals, about ``rate`` a second."""

    def __init__(
        self,
        doors: Doors,
        devices: list[DeviceCredential],
        stats: Stats,
        *,
        rate: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.transport = doors
        self.stats = stats
        self.rate = rate
        self.rng = rng or random.Random()  # noqa: S311  (simulated behaviour, not secrets)
        self.budget = 0.0
        self.last = 0.0
        self.doors: list[tuple[str, AccessPoint, terminal.OfflineTerminal]] = []
        self._terminals: dict[int, terminal.OfflineTerminal] = {}
        codes = {d.device_id for d in devices if d.kind in TERMINAL_KINDS}
        points = AccessPoint.objects.filter(devices__code__in=list(codes)).values_list(
            "pk", "devices__code"
        )
        by_pk = {p.pk: p for p in AccessPoint.objects.filter(pk__in=[pk for pk, _ in points])}
        for pk, code in points:
            if code not in codes:
                continue
            point = by_pk[pk]
            offline = self._terminals.setdefault(
                point.community_id, terminal.OfflineTerminal(point.community_id)
            )
            self.doors.append((code, point, offline))
        self._keys_loaded: set[int] = set()

    def _load_keys(self, code: str, offline: terminal.OfflineTerminal) -> bool:
        if offline.community_id in self._keys_loaded:
            return True
        doc = self.transport.keys(code, offline.community_id)
        if isinstance(doc, str):
            self.stats.refuse(doc)
            return False
        offline.apply_keys(doc)
        self._keys_loaded.add(offline.community_id)
        return True

    def tick(self, now: float) -> None:
        """Let the people due by ``now`` (monotonic seconds) pass."""
        if not self.doors:
            return
        if self.last:
            self.budget += self.rate * (now - self.last)
        self.last = now
        while self.budget >= 1:
            self.budget -= 1
            self.one_passage()

    def one_passage(self) -> str:
        """One person at one door; return the decision's reason."""
        code, point, offline = self.rng.choice(self.doors)
        person = self._someone(point)
        if person is None:
            return ""
        try:
            if not self._load_keys(code, offline):
                return ""
            text = actions.show_pass(person, point.community_id)
        except Exception:
            self.stats.add(errors=1)
            return ""
        image = terminal.render_qr(text)  # the phone's screen
        seen = terminal.read_qr(image)  # the terminal's camera
        try:
            offline.verify_pass(seen, dt.datetime.now(dt.UTC).timestamp())
        except (terminal.Replayed, ValueError) as refused:
            self._count(False, f"offline_{type(refused).__name__.lower()}")
            return "offline_refused"
        body = {"point": point.code, "method": "qr", "value": seen, "direction": "in"}
        reason = self._ask(code, body)
        if reason and self.rng.random() < REPLAY_SHARE:
            self._ask(code, body)  # the same screenshot again: refused as replayed
        return reason

    def _ask(self, code: str, body: dict[str, Any]) -> str:
        try:
            answer = self.transport.decide(code, body)
        except OSError:
            self.stats.add(errors=1)
            return ""
        if isinstance(answer, str):
            self.stats.refuse(answer)
            return ""
        allowed = answer.get("result") == "allow"
        reason = str(answer.get("reason", ""))
        self._count(allowed, reason)
        return reason

    def _count(self, allowed: bool, reason: str) -> None:
        with self.stats.lock:
            self.stats.doors[reason if not allowed else "allowed"] += 1

    def _someone(self, point: AccessPoint) -> int | None:
        """A person allowed at the point, or now and then anyone of the community."""
        rights = AccessRight.objects.filter(point=point, effect="allow")
        if self.rng.random() < STRANGER_SHARE:
            rights = AccessRight.objects.filter(community_id=point.community_id)
        ids = list(rights.values_list("person_id", flat=True).distinct()[:500])
        return self.rng.choice(ids) if ids else None
