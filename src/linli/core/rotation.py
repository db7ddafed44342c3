"""Re-encrypt sealed columns under the active data key (``linli rotate-keys``).

A model lists its sealed columns and their purposes in ``sealed_fields``; rotation walks
every such model in batches, each batch in its own transaction, and is safe to rerun.
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from tqdm import tqdm

from linli.core.crypto import keyring

BATCH = 500


def rotate_all(*, progress: bool = False) -> dict[str, int]:
    """Re-seal every value not sealed under the active key; return counts per model."""
    ring = keyring()
    counts: dict[str, int] = {}
    for model in apps.get_models():
        fields: dict[str, str] = getattr(model, "sealed_fields", {})
        if not fields:
            continue
        label = model._meta.label
        counts[label] = 0
        ids = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        bar = tqdm(total=len(ids), desc=label, disable=not progress, unit="row")
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            with transaction.atomic():
                rows = model._default_manager.select_for_update().filter(pk__in=chunk)
                changed = []
                for row in rows:
                    dirty = False
                    for name, purpose in fields.items():
                        value = getattr(row, name)
                        if value and ring.needs_rotation(value):
                            setattr(row, name, ring.reseal(value, purpose))
                            dirty = True
                    if dirty:
                        changed.append(row)
                if changed:
                    model._default_manager.bulk_update(changed, list(fields))
                counts[label] += len(changed)
            bar.update(len(chunk))
        bar.close()
    return counts
