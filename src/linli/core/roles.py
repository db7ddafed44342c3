"""What each role may do: the one place where permissions per role are declared.

A permission is ``"<domain>.<verb>"``. Later domains add their permissions here, next to
the roles that hold them, so a reviewer sees the whole policy on one screen.
"""

from __future__ import annotations

from linli.core.choices import Role

# Every permission the platform knows, with a short English description for docs and
# the API. Checking an unknown permission is a programming error (see ``has_perm``).
PERMISSIONS: dict[str, str] = {
    "community.view": "see the community, its places and dashboard counts",
    "community.change": "edit the community's details and boundary",
    "community.create": "create communities (platform administrators)",
    "organisation.view": "see organisations holding grants on the community",
    "organisation.manage": "create and edit organisations",
    "grant.view": "see who holds which role on the community",
    "grant.manage": "give and withdraw roles on the community",
    "audit.view": "read the community's audit log",
    "place.view": "see buildings, units and rooms",
    "place.manage": "create and edit buildings, units and rooms",
    "person.view": "see residents (ID numbers and phones masked)",
    "person.manage": "register and edit residents and residencies",
    "person.reveal": "reveal a resident's full ID number or phone (audited)",
    "person.care_view": "see special-care tags (独居老人, 残疾人, 低保 …)",
    "person.care_manage": "add and remove special-care tags",
    "household.view_own": "see one's own household",
    "population.view": "follow the community's population changes (人口动态)",
    "device.view": "see devices, their status, messages and command history",
    "device.manage": "register devices, edit them, issue and rotate their credentials",
    "device.command": "send commands to devices (open a door, sync, configure, reboot)",
    "access.view": "see access points, policies, schedules and the access log",
    "access.manage": "create and edit access points, groups, schedules and policies",
    "credential.view": "see people's credentials (card numbers masked, no secrets)",
    "credential.manage": "issue, suspend, resume and revoke credentials; record consent",
    "identity.check": "run real-person authentication (实人认证: ID number and live face)",
    "visitor.manage": "register walk-in visitors and manage every visitor pass",
    "pass.own": "show one's own 一码通 pass and invite one's own visitors",
}

_STAFF_VIEW = {"community.view", "place.view", "person.view", "population.view"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(PERMISSIONS),
    Role.PROPERTY_MANAGER: frozenset(
        _STAFF_VIEW
        | {
            "community.change",
            "organisation.view",
            "grant.view",
            "grant.manage",
            "audit.view",
            "place.manage",
            "person.manage",
            "person.reveal",
            "person.care_view",
            "device.view",
            "device.manage",
            "device.command",
            "access.view",
            "access.manage",
            "credential.view",
            "credential.manage",
            "identity.check",
            "visitor.manage",
        }
    ),
    Role.FRONT_DESK: frozenset(
        _STAFF_VIEW
        | {
            "person.manage",
            "device.view",
            "access.view",
            "credential.view",
            "credential.manage",
            "identity.check",
            "visitor.manage",
        }
    ),
    Role.SECURITY_GUARD: frozenset(
        _STAFF_VIEW | {"device.view", "device.command", "access.view", "visitor.manage"}
    ),
    Role.TECHNICIAN: frozenset(
        {"community.view", "place.view", "device.view", "device.manage", "device.command"}
    ),
    Role.ACCOUNTANT: frozenset(_STAFF_VIEW),
    Role.COMMITTEE_OFFICER: frozenset(
        _STAFF_VIEW
        | {
            "organisation.view",
            "grant.view",
            "audit.view",
            "person.reveal",
            "person.care_view",
            "person.care_manage",
        }
    ),
    Role.STREET_OFFICER: frozenset(
        _STAFF_VIEW | {"organisation.view", "grant.view", "person.care_view"}
    ),
    Role.POLICE_LIAISON: frozenset(_STAFF_VIEW | {"person.reveal"}),
    Role.SERVICE_PROVIDER: frozenset({"community.view"}),
    Role.RESIDENT: frozenset({"community.view", "household.view_own", "pass.own"}),
}

# Roles whose grants may span every community (a grant with no community).
GLOBAL_ROLES = frozenset({Role.PLATFORM_ADMIN})


def permissions_for(role: str) -> frozenset[str]:
    """Return the permissions a role carries."""
    return ROLE_PERMISSIONS[Role(role)]


def check_known(perm: str) -> None:
    """Raise ``KeyError`` for a permission nobody declared (a typo in code)."""
    if perm not in PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}; declare it in linli.core.roles")
