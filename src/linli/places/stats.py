"""Dashboard counts, each computed through the actor's scoped selectors."""

from __future__ import annotations

from linli.core.selectors import list_grants
from linli.core.tenancy import Actor
from linli.people.selectors import list_current_residencies, list_people
from linli.places.selectors import count_rooms, list_buildings


def community_counts(actor: Actor, community_id: int | None) -> dict[str, int]:
    """Return counts of what the actor may see in one community (or all it may see)."""

    def allowed(perm: str) -> bool:
        return actor.can(perm, community_id) if community_id else True

    return {
        "buildings": list_buildings(actor, community_id=community_id).count()
        if allowed("place.view")
        else 0,
        "rooms": count_rooms(actor, community_id=community_id) if allowed("place.view") else 0,
        "people": list_people(actor, community_id=community_id).count()
        if allowed("person.view")
        else 0,
        "residencies": list_current_residencies(actor, community_id=community_id).count()
        if allowed("person.view")
        else 0,
        "grants": list_grants(actor, community_id=community_id).count()
        if allowed("grant.view")
        else 0,
    }
