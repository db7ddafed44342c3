"""Turn Django model validation into the platform's :class:`ValidationFailed`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from linli.core import errors


def full_clean(obj: models.Model, **kwargs: object) -> None:
    """Validate ``obj`` and raise :class:`ValidationFailed` with per-field reasons."""
    try:
        obj.full_clean(**kwargs)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise errors.ValidationFailed(details=messages_of(exc)) from exc


def messages_of(exc: ValidationError) -> dict[str, list[str]]:
    """Return ``{field: [message, …]}`` from a Django ``ValidationError``."""
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}
