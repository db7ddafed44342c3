"""API plumbing shared by every domain router: auth, errors, pagination, the actor."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PaginationBase
from ninja.security import HttpBearer, SessionAuth

from linli.core import errors
from linli.core.auth import actor_for_token, authenticate_token, request_actor, set_request_actor
from linli.core.tenancy import Actor

log = logging.getLogger(__name__)


class ErrorOut(Schema):
    """The one error shape of the API."""

    code: str
    message: str
    details: Any = None


# Error responses every endpoint documents.
ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer lnl_…`` API tokens, acting as their user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        """Return the token's user, or ``None`` for an unknown or revoked token."""
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        set_request_actor(request, actor_for_token(api_token))
        request.user = api_token.user
        return api_token.user


def actor(request: HttpRequest) -> Actor:
    """Return the authenticated actor of an API request."""
    found = request_actor(request)
    if found is None:
        raise errors.NotAuthenticated()
    return found


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    """Render the common error body."""
    return api.create_response(
        request, {"code": code, "message": message, "details": details or {}}, status=status
    )


class PagePagination(PaginationBase):
    """``?page=&page_size=`` pagination with the total count."""

    class Input(Schema):
        """Pagination query parameters."""

        page: int = Field(1, ge=1)
        page_size: int = Field(50, ge=1, le=200)

    class Output(Schema):
        """A page of items."""

        items: list[Any]
        count: int
        page: int
        page_size: int
        pages: int

    items_attribute = "items"

    def paginate_queryset(
        self, queryset: Any, pagination: Any, request: HttpRequest | None = None, **params: Any
    ) -> dict[str, Any]:
        """Return one page of ``queryset``."""
        count = queryset.count() if hasattr(queryset, "count") else len(queryset)
        start = (pagination.page - 1) * pagination.page_size
        return {
            "items": list(queryset[start : start + pagination.page_size]),
            "count": count,
            "page": pagination.page,
            "page_size": pagination.page_size,
            "pages": max(1, -(-count // pagination.page_size)),
        }


def build_api() -> NinjaAPI:
    """Create the NinjaAPI with auth, error handlers and every domain's router."""
    api = NinjaAPI(
        title="Linli API",
        version="1",
        description="Linli (邻里) smart-community platform. Errors: {code, message, details}.",
        urls_namespace="api",
        auth=[TokenAuth(), SessionAuth()],
        docs_url="/docs",
    )

    @api.exception_handler(errors.LinliError)
    def linli_error(request: HttpRequest, exc: errors.LinliError) -> HttpResponse:
        return error_response(api, request, exc.status, exc.code, str(exc.message), exc.details)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        details = [
            {
                "loc": [str(p) for p in e.get("loc", [])],
                "type": e.get("type", ""),
                "msg": e.get("msg", ""),
            }
            for e in exc.errors
        ]
        return error_response(
            api, request, 422, "validation_error", _("输入有误，请检查后重试。"), details
        )

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        err = errors.NotAuthenticated()
        return error_response(api, request, err.status, err.code, str(err.message))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        err = errors.NotFound()
        return error_response(api, request, err.status, err.code, str(err.message))

    @api.exception_handler(DjangoPermissionDenied)
    def forbidden(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
        err = errors.PermissionDenied()
        return error_response(api, request, err.status, err.code, str(err.message))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "bad_request", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        return error_response(api, request, exc.status_code, code, str(exc))

    @api.exception_handler(Exception)
    def internal(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error")
        return error_response(
            api,
            request,
            500,
            "internal_error",
            _("服务器内部错误，请稍后重试。"),
            {"request_id": getattr(request, "request_id", "")},
        )

    from linli.access.api import router as access_router
    from linli.biometrics.api import router as biometrics_router
    from linli.core.api import router as core_router
    from linli.devices.api import router as devices_router
    from linli.people.api import router as people_router
    from linli.places.api import router as places_router

    api.add_router("/", core_router)
    api.add_router("/", places_router)
    api.add_router("/", people_router)
    api.add_router("/", devices_router)
    api.add_router("/", access_router)
    api.add_router("/", biometrics_router)
    return api


api = build_api()
