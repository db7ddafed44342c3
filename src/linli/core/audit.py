"""Write audit rows. Actions call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models

from linli.core import context
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.core.validation import full_clean

Snapshot = dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> Snapshot:
    """Return the JSON-safe values of ``fields`` on ``obj`` (foreign keys as ids)."""
    out: Snapshot = {}
    for name in fields:
        f = obj._meta.get_field(name)
        attr = f.attname if isinstance(f, models.ForeignKey) else name
        out[name] = _plain(getattr(obj, attr))
    return out


def diff(before: Snapshot, after: Snapshot) -> dict[str, list[Any]]:
    """Return ``{field: [before, after]}`` for fields whose value changed."""
    keys = before.keys() | after.keys()
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def entry(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    community_id: int | None = None,
    changes: dict[str, Any] | None = None,
    sensitive: bool = False,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditLog:
    """Return (unsaved) the audit row for ``action`` done by ``actor`` (on ``obj``, if any)."""
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    return AuditLog(
        actor=actor.user,
        actor_label=actor.label[:150],
        community_id=community_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=changes or {},
        sensitive=sensitive,
        request_id=ctx.request_id if ctx.request_id != "-" else "",
        client_ip=ctx.client_ip,
    )


def record(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    community_id: int | None = None,
    changes: dict[str, Any] | None = None,
    sensitive: bool = False,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditLog:
    """Append one audit row for ``action`` done by ``actor`` (on ``obj``, if any)."""
    row = entry(
        actor,
        action,
        obj,
        community_id=community_id,
        changes=changes,
        sensitive=sensitive,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
    )
    row.save(force_insert=True)
    return row


def record_many(rows: Iterable[AuditLog]) -> None:
    """Append audit rows built with :func:`entry` in one statement (bulk actions)."""
    AuditLog.objects.bulk_create(list(rows), batch_size=1000)


def apply(obj: models.Model, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set ``values`` on ``obj``, save the changed fields, and return their diff."""
    before = snapshot(obj, values)
    for name, value in values.items():
        setattr(obj, name, value)
    after = snapshot(obj, values)
    changes = diff(before, after)
    if changes:
        full_clean(obj, exclude=[f.name for f in obj._meta.fields if f.name not in changes])
        obj.save(update_fields=list(changes))
    return changes
