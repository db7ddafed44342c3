"""Domain errors with a machine-readable code and a translated message.

Actions raise these; the API turns them into ``{"code", "message", "details"}`` with the
HTTP status below, and the console shows the message next to the form or on an error page.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class LinliError(Exception):
    """Base of every error a user can cause."""

    status = 400
    code = "bad_request"
    default_message: Any = _("请求无效。")

    def __init__(
        self, message: Any = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.details = details if details is not None else {}
        super().__init__(str(self.message))


class ValidationFailed(LinliError):
    """Input is malformed or breaks a rule; ``details`` maps fields to reasons."""

    status = 422
    code = "validation_error"
    default_message = _("输入有误，请检查后重试。")


class PermissionDenied(LinliError):
    """The actor may see the object but not do this to it."""

    status = 403
    code = "permission_denied"
    default_message = _("您没有执行此操作的权限。")


class NotFound(LinliError):
    """No such object, or not one the actor may see (the two are never told apart)."""

    status = 404
    code = "not_found"
    default_message = _("未找到该对象。")


class Conflict(LinliError):
    """The change clashes with existing data (a duplicate, a stale version)."""

    status = 409
    code = "conflict"
    default_message = _("与现有数据冲突。")


class NotAuthenticated(LinliError):
    """No valid session or token."""

    status = 401
    code = "not_authenticated"
    default_message = _("请先登录或提供有效的 API 令牌。")


class Throttled(LinliError):
    """Too many attempts; try again later."""

    status = 429
    code = "throttled"
    default_message = _("尝试次数过多，请稍后再试。")
