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
    sealed_fields = {
        "embedding_sealed": "biometrics.template",
        "photo_sealed": "biometrics.photo",
    }

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
    # The enrolment photo, kept sealed only where the community's retention policy says so
    # (``Community.face_photo_retention_days``), and purged when that time is up.
    photo_sealed = models.TextField(blank=True, default="")
    photo_until = models.DateTimeField(null=True, blank=True)
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


class ChallengeUse(models.Model):
    """A liveness challenge that was answered (each is answered once); rows past their
    expiry are purged."""

    nonce = models.CharField(max_length=32, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"challenge {self.nonce}"


class IdentityCheck(models.Model):
    """One real-person authentication (实人认证): name and ID number, a reference portrait,
    a live capture with liveness, the face comparison, and its result. The ID number is
    sealed; only its keyed hash and a masked copy are kept in clear."""

    scope_field = "community_id"
    sealed_fields = {"id_number_sealed": "person.id_number"}

    community = models.ForeignKey(
        _COMMUNITY, verbose_name=_("社区"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("人员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("姓名"), max_length=100)
    id_number_sealed = models.TextField()
    id_number_hash = models.CharField(max_length=64, db_index=True)
    id_number_masked = models.CharField(_("证件号码"), max_length=40)
    provider = models.CharField(_("认证服务"), max_length=40)
    reference = models.CharField(_("比对照片来源"), max_length=20)
    passed = models.BooleanField(_("通过"), default=False)
    reason = models.CharField(_("结果说明"), max_length=40)
    liveness = models.JSONField(_("活体检测"), default=dict, blank=True)
    distance = models.FloatField(_("比对距离"), null=True, blank=True)
    checked_by = models.CharField(_("发起人"), max_length=100)
    checked_at = models.DateTimeField(_("认证时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("实人认证")
        verbose_name_plural = _("实人认证")
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"identity check {self.pk} ({self.reason})"


class EvaluationReport(models.Model):
    """A stored run of ``linli biometrics evaluate``: its JSON report and DET plot (the
    figures the thresholds rest on; no photos, no embeddings)."""

    modality = models.CharField(max_length=5, choices=Modality.choices)
    engine = models.CharField(max_length=40)
    report = models.JSONField()
    plot = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.engine} evaluation of {self.created_at:%Y-%m-%d}"
