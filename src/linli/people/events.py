"""Events of people, published after the change commits (see :mod:`linli.core.events`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from linli.core.events import event


@event("people.residency_started")
@dataclass(frozen=True)
class ResidencyStarted:
    """A person moved into a room (or a tenancy started)."""

    residency_id: int
    person_id: int
    community_id: int
    room_id: int
    relation: str


@event("people.residency_ended")
@dataclass(frozen=True)
class ResidencyEnded:
    """A person moved out (or a tenancy ended); access tied to the room should end."""

    residency_id: int
    person_id: int
    community_id: int
    room_id: int
    date_to: dt.date


@event("people.tenancy_expiring")
@dataclass(frozen=True)
class TenancyExpiring:
    """A registered tenancy's lease ends soon (or has passed without being ended)."""

    tenancy_id: int
    community_id: int
    room_id: int
    date_to: dt.date
    days_left: int
