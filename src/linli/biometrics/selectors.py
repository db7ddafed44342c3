"""Reads of biometric state for pages and the API (never a template's content)."""

from __future__ import annotations

import dataclasses

from django.db.models import Count, Q

from linli.access.choices import Modality
from linli.access.models import Consent
from linli.biometrics.models import EvaluationReport, Template

FILING_THRESHOLD = 100_000  # people with face data: the 2025 rules ask for a filing


@dataclasses.dataclass(frozen=True)
class Held:
    """A person's templates and unrevoked consents in a community, by modality."""

    templates: dict[str, Template]
    consents: dict[str, Consent]

    def status(self, person_id: int, community_id: int) -> dict[str, object]:
        """The API's and pages' view of it: whether each template exists, and consent."""
        return {
            "person_id": person_id,
            "community_id": community_id,
            "face": self.templates.get(Modality.FACE),
            "voice": self.templates.get(Modality.VOICE),
            "face_consent": Modality.FACE in self.consents,
            "voice_consent": Modality.VOICE in self.consents,
        }


def held(person_id: int, community_id: int) -> Held:
    """What a person holds in a community (two statements)."""
    return Held(
        {
            t.modality: t
            for t in Template.objects.filter(community_id=community_id, person_id=person_id)
        },
        {
            c.modality: c
            for c in Consent.objects.filter(
                community_id=community_id, person_id=person_id, revoked_at__isnull=True
            )
        },
    )


def latest_report(modality: str) -> EvaluationReport | None:
    """The newest stored evaluation of a modality's engine."""
    return EvaluationReport.objects.filter(modality=modality).order_by("-pk").first()


def report(report_id: int) -> EvaluationReport | None:
    """A stored evaluation by id."""
    return EvaluationReport.objects.filter(pk=report_id).first()


def stored_faces() -> int:
    """How many people have face data stored on the platform."""
    return Template.objects.filter(modality=Modality.FACE).values("person_id").distinct().count()


def stored_faces_here_and_all(community_id: int) -> dict[str, int]:
    """People with face data in a community and on the platform (one statement)."""
    counts = Template.objects.filter(modality=Modality.FACE).aggregate(
        platform=Count("person_id", distinct=True),
        community=Count("person_id", distinct=True, filter=Q(community_id=community_id)),
    )
    return {"community": int(counts["community"]), "platform": int(counts["platform"])}
