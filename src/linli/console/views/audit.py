"""Console pages of the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.console import components
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, require_somewhere
from linli.core import errors, selectors
from linli.places import selectors as place_selectors

# Action prefixes offered as a filter: a whole domain, or one kind of event.
ACTION_PREFIXES = (
    ("core.sign_", gettext_lazy("登录与退出")),
    ("core.grant.", gettext_lazy("授权变更")),
    ("core.api_token.", gettext_lazy("API 令牌")),
    ("core.", gettext_lazy("账号与组织（全部）")),
    ("places.", gettext_lazy("社区与房屋")),
    ("people.person.reveal", gettext_lazy("查看身份信息")),
    ("people.", gettext_lazy("人员与居住")),
)
SCOPES = (("all", gettext_lazy("全部可见社区")),)
ENTRY_FIELDS = (
    "created_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "sensitive",
    "request_id",
    "client_ip",
)


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """List audit rows of the current community (or all visible), filtered."""
    actor = console_actor(request)
    require_somewhere(actor, "audit.view")
    listing = components.ListPage(
        request,
        search=_("操作者"),
        filters=[
            components.Filter("action", _("动作"), ACTION_PREFIXES),
            components.Filter("scope", _("范围"), SCOPES, empty_label=_("当前社区")),
            components.Filter("sensitive", _("仅敏感读取")),
        ],
    )
    every = listing.value("scope") == "all"
    listing.paginate(
        selectors.list_audit(
            actor,
            community_id=None if every else current_community_id(request),
            action=listing.value("action"),
            actor_label=listing.q,
            sensitive=True if listing.value("sensitive") else None,
        )
    )
    return render(request, "console/audit/list.html", {"listing": listing})


@login_required
def audit_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Show one audit row with its before/after changes."""
    actor = console_actor(request)
    entry = selectors.get_audit_entry(actor, entry_id)
    community = None
    if entry.community_id is not None:
        try:
            community = place_selectors.get_community(actor, entry.community_id)
        except errors.NotFound:  # deleted since: the trail outlives its objects
            community = None
    return render(
        request,
        "console/audit/detail.html",
        {
            "entry": entry,
            "community": community,
            "fields": components.describe(entry, ENTRY_FIELDS),
            "changes": components.change_rows(entry.changes),
        },
    )
