"""The console's navigation: each entry shows only to actors holding its permission."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import Actor


@dataclass(frozen=True)
class NavItem:
    """One entry of the side navigation."""

    url_name: str
    label: object
    perm: str
    icon: str
    dom_id: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("console:dashboard", _("概览"), "community.view", "▦"),
    NavItem("console:communities", _("社区"), "community.view", "⌂"),
    NavItem("console:people", _("人员"), "person.view", "☺"),
    NavItem("console:tenancies", _("出租屋"), "person.view", "⌸", "nav-tenancies"),
    NavItem("console:population", _("人口动态"), "population.view", "⇄"),
    NavItem("console:population_stats", _("人口统计"), "population.view", "◔", "nav-statistics"),
    NavItem("console:devices", _("设备"), "device.view", "⎔", "nav-devices"),
    NavItem("console:access_points", _("门禁通行"), "access.view", "⌘", "nav-access"),
    NavItem("console:biometric_evaluation", _("识别评测"), "access.view", "◉", "nav-biometrics"),
    NavItem("console:my_household", _("我的家庭"), "household.view_own", "⌂", "nav-household"),
    NavItem("console:my_pass", _("我的通行码"), "pass.own", "▣", "nav-pass"),
    NavItem("console:my_face", _("刷脸通行"), "pass.own", "☻", "nav-face"),
    NavItem("console:my_visitors", _("我的访客"), "pass.own", "✉", "nav-visitors"),
    NavItem("console:organisations", _("组织"), "organisation.view", "◈"),
    NavItem("console:grants", _("授权"), "grant.view", "⚑"),
    NavItem("console:audit", _("审计日志"), "audit.view", "☰"),
    NavItem("console:tokens", _("API 令牌"), "community.view", "⚷"),
)


def items_for(actor: Actor, community_id: int | None) -> list[NavItem]:
    """Return the navigation entries the actor may use (on the current community)."""
    out = []
    for item in NAV:
        scope = actor.scope(item.perm)
        if scope.everywhere or (
            community_id in scope.community_ids if community_id else bool(scope.community_ids)
        ):
            out.append(item)
    return out


@dataclass(frozen=True)
class NavEntry:
    """A navigation entry as drawn: its item, URL, and whether the page is under it."""

    item: NavItem
    url: str
    active: bool


def entries_for(actor: Actor, community_id: int | None, path: str) -> list[NavEntry]:
    """Return the actor's entries, marking the one whose section ``path`` is in."""
    out = []
    for item in items_for(actor, community_id):
        url = reverse(item.url_name)
        active = path == url if url == "/" else path.startswith(url)
        out.append(NavEntry(item, url, active))
    return out
