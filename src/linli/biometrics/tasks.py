"""The biometrics app's periodic work."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from linli.biometrics.models import ChallengeUse
from linli.core.worker import task


def purge_challenges(now: dt.datetime | None = None) -> int:
    """Forget answered liveness challenges that have expired; return how many."""
    deleted, _ = ChallengeUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


@task("biometrics.purge_challenges", every=dt.timedelta(minutes=5))
def purge_challenges_task() -> None:
    """Run :func:`purge_challenges` (periodic)."""
    purge_challenges()
