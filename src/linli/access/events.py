"""Events of access control, published after the change commits (for alarms)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from linli.core.events import event


@event("access.door_incident")
@dataclass(frozen=True)
class DoorIncident:
    """A door was forced, held open, or more people passed than were let in (尾随)."""

    kind: str  # "door_forced" | "door_held_open" | "tailgating"
    community_id: int
    point_id: int
    device_id: int
    access_event_id: int
    at: dt.datetime
    passages: int = 0
    grants: int = 0
    seconds: int = 0
