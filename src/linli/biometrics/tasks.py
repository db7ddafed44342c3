"""The biometrics app's periodic work."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from linli.biometrics.models import ChallengeUse, Template
from linli.core.worker import task


def purge_challenges(now: dt.datetime | None = None) -> int:
    """Forget answered liveness challenges that have expired; return how many."""
    deleted, _ = ChallengeUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


def purge_photos(now: dt.datetime | None = None) -> int:
    """Delete enrolment photos kept past their community's retention; return how many."""
    return Template.objects.filter(photo_until__lt=now or timezone.now()).update(
        photo_sealed="", photo_until=None
    )


@task("biometrics.purge_photos", every=dt.timedelta(hours=1))
def purge_photos_task() -> None:
    """Run :func:`purge_photos` (periodic)."""
    purge_photos()


@task("biometrics.purge_challenges", every=dt.timedelta(minutes=5))
def purge_challenges_task() -> None:
    """Run :func:`purge_challenges` (periodic)."""
    purge_challenges()
