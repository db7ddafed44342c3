"""Biometric templates (encrypted embeddings) and each community's gallery version."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.access.choices import Modality
from linli.core.tenancy import ScopedQuerySet

_COMMUNITY = "places.Community"


class Template(models.Model):
    """One person's face or voice template: an embedding sealed with the core field
    encryption (AES-GCM), tied to the credential it makes usable and the consent that
    allows it. Never returned by any API; deleted with the consent or the residency."""

    scope_field = "community_id"
    sealed_fields = {"embedding_sealed": "biometrics.template"}

    community = models.ForeignKey(
        _COMMUNITY, verbose_name=_("社区"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("人员"), on_delete=models.CASCADE, related_name="+"
    )
    modality = models.CharField(_("生物特征"), max_length=5, choices=Modality.choices)
    credential = models.OneToOneField(
        "access.Credential", on_delete=models.CASCADE, related_name="template"
    )
    consent = models.ForeignKey("access.Consent", on_delete=models.PROTECT, related_name="+")
    engine = models.CharField(_("模型"), max_length=40)
    dimension = models.PositiveSmallIntegerField()
    embedding_sealed = models.TextField()
    quality = models.JSONField(_("质量"), default=dict, blank=True)
    samples = models.PositiveSmallIntegerField(_("样本数"), default=1)
    created_at = models.DateTimeField(_("采集时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("生物特征模板")
        verbose_name_plural = _("生物特征模板")
        indexes = [models.Index(fields=["community", "modality"], name="template_gallery")]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "person", "modality"], name="one_template_per_modality"
            )
        ]

    def __str__(self) -> str:
        return f"{self.modality} template of {self.person_id}"


class GalleryVersion(models.Model):
    """A counter per community and modality, raised in the same transaction as every
    change to its templates: a process holding a gallery in memory compares it before a
    search, so a deleted template is never matched once its deletion has committed."""

    community = models.ForeignKey(_COMMUNITY, on_delete=models.CASCADE, related_name="+")
    modality = models.CharField(max_length=5, choices=Modality.choices)
    number = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "modality"], name="one_gallery_version")
        ]

    def __str__(self) -> str:
        return f"{self.modality} gallery of {self.community_id} at {self.number}"
