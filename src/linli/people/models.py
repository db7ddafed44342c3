"""Tables of people: person (人员) and residency (居住关系)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import ScopedQuerySet
from linli.people.choices import (
    ChangeKind,
    ChangeSource,
    IdType,
    RegistrationCategory,
    Relation,
    Sex,
)


class PersonQuerySet(ScopedQuerySet["Person"]):
    """People, scoped by the community that registered them."""


class Person(models.Model):
    """A real person known to a community (人员).

    The ID number and phone are stored sealed (AES-GCM, see :mod:`linli.core.crypto`), with
    a keyed hash for exact lookup and a masked copy for display. No API returns the
    sealed or clear values; revealing one is a separate, audited action.
    """

    scope_field = "community_id"
    sealed_fields = {"id_number_sealed": "person.id_number", "phone_sealed": "person.phone"}

    community = models.ForeignKey(
        "places.Community", verbose_name=_("登记社区"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(
        _("证件类型"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number_sealed = models.TextField(blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    id_number_masked = models.CharField(_("证件号码"), max_length=40, blank=True, default="")
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    phone_sealed = models.TextField(blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone_masked = models.CharField(_("手机号码"), max_length=20, blank=True, default="")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["community_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "id_type", "id_number_hash"],
                condition=~Q(id_number_hash=""),
                name="person_id_number_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ResidencyQuerySet(ScopedQuerySet["Residency"]):
    """Residencies, scoped by the room's community."""


class Residency(models.Model):
    """A person living in a room, as owner, family member, tenant or other (居住关系)."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="residencies"
    )
    room = models.ForeignKey(
        "places.Room", verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="residencies"
    )
    relation = models.CharField(_("关系"), max_length=16, choices=Relation.choices)
    category = models.CharField(
        _("户籍类别"),
        max_length=16,
        choices=RegistrationCategory.choices,
        default=RegistrationCategory.PERMANENT,
    )
    date_from = models.DateField(_("起始日期"))
    date_to = models.DateField(_("结束日期"), null=True, blank=True)

    objects = ResidencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("居住关系")
        verbose_name_plural = _("居住关系")
        ordering = ["-date_from", "id"]
        indexes = [models.Index(fields=["community", "date_to"], name="residency_current")]

    def __str__(self) -> str:
        return f"{self.person} · {self.room}"


class PopulationChangeQuerySet(ScopedQuerySet["PopulationChange"]):
    """Population changes, scoped by community."""


class PopulationChange(models.Model):
    """One move-in, move-out, tenancy start/end or household change (人口变动记录).

    Written by the people actions in the transaction of the change itself. No action
    updates or deletes a row, and a residency or person with changes cannot be deleted
    (``PROTECT``). The per-community feed reads it in ``id`` order with an opaque cursor.
    """

    scope_field = "community_id"

    community = models.ForeignKey(
        "places.Community", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="changes"
    )
    residency = models.ForeignKey(
        Residency, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    room = models.ForeignKey(
        "places.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("变动类型"), max_length=20, choices=ChangeKind.choices)
    occurred_on = models.DateField(_("发生日期"))
    source = models.CharField(
        _("来源"), max_length=16, choices=ChangeSource.choices, default=ChangeSource.CONSOLE
    )
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("经办人"), max_length=150)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = PopulationChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("人口变动")
        verbose_name_plural = _("人口变动")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["community", "id"], name="popchange_feed"),
            models.Index(fields=["community", "occurred_on"], name="popchange_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_id} {self.occurred_on}"
