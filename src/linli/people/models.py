"""Tables of people: person (人员) and residency (居住关系)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import Actor, ScopedQuerySet
from linli.people.choices import (
    CareTag,
    ChangeKind,
    ChangeSource,
    IdType,
    Kinship,
    RegistrationCategory,
    Relation,
    Sex,
    TenancyPurpose,
)
from linli.people.codes import CHINA, Ethnicity


class PersonQuerySet(ScopedQuerySet["Person"]):
    """People, scoped by the communities they belong to (see :class:`Membership`).

    A person known to several communities is one row; an actor sees it when they hold the
    permission in any of those communities. The filter is a subquery on memberships, so a
    person in two visible communities is still listed once.
    """

    def restrict(self, actor: Actor, perm: str) -> PersonQuerySet:
        scope = actor.scope(perm)
        if scope.everywhere:
            return self
        members = Membership.objects.filter(community_id__in=scope.community_ids)
        return self.filter(pk__in=members.values("person_id"))

    def in_community(self, community_id: int) -> PersonQuerySet:
        """Keep the people who belong to one community."""
        members = Membership.objects.filter(community_id=community_id)
        return self.filter(pk__in=members.values("person_id"))


class Person(models.Model):
    """A real person (人员): one row per person in a deployment, however many communities.

    The ID number and phone are stored sealed (AES-GCM, see :mod:`linli.core.crypto`), with
    a keyed hash for exact lookup and a masked copy for display. No API returns the
    sealed or clear values; revealing one is a separate, audited action. ``community`` is
    where the person was first registered; the communities that know the person are the
    :class:`Membership` rows, which scope every read.
    """

    scope_field = "memberships__community_id"
    sealed_fields = {"id_number_sealed": "person.id_number", "phone_sealed": "person.phone"}

    community = models.ForeignKey(
        "places.Community", verbose_name=_("登记社区"), on_delete=models.PROTECT, related_name="+"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("居民账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
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
    ethnicity = models.CharField(
        _("民族"), max_length=2, choices=Ethnicity.choices, blank=True, default=""
    )
    nationality = models.CharField(_("国籍"), max_length=3, default=CHINA)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_type", "id_number_hash"],
                condition=~Q(id_number_hash=""),
                name="person_id_number_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A community that knows a person (人员所属社区); scopes who may see the person.

    Written by the people actions: registering a person, or registering an ID number
    another community already holds, adds the membership.
    """

    scope_field = "community_id"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员所属社区")
        verbose_name_plural = _("人员所属社区")
        constraints = [
            models.UniqueConstraint(fields=["community", "person"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.community_id}"


class PersonPhoto(models.Model):
    """A person's photo (照片), sealed at rest like the ID number; read only through actions."""

    sealed_fields = {"sealed": "person.photo"}

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="photo")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sealed = models.TextField()
    uploaded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"photo of {self.person_id}"


class Household(models.Model):
    """A household (户) living in one room, with its head (户主)."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(
        "places.Room", verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="households"
    )
    head = models.ForeignKey(
        Person, verbose_name=_("户主"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("户号"), max_length=30, blank=True, default="")
    created_on = models.DateField(_("建户日期"))
    dissolved_on = models.DateField(_("销户日期"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["room_id", "id"]

    def __str__(self) -> str:
        return f"{self.room} · {self.head}"


class Tenancy(models.Model):
    """A rental registration (出租屋登记): a room let from a landlord, until a lease end.

    The tenants are the residencies that point here. Ending the tenancy ends them; a
    periodic task reminds the community before ``date_to`` (see ``people.tasks``).
    """

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(
        "places.Room", verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="tenancies"
    )
    landlord = models.ForeignKey(
        Person,
        verbose_name=_("房东"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    purpose = models.CharField(
        _("出租用途"),
        max_length=16,
        choices=TenancyPurpose.choices,
        default=TenancyPurpose.RESIDENTIAL,
    )
    date_from = models.DateField(_("起租日期"))
    date_to = models.DateField(_("租约到期"))
    ended_on = models.DateField(_("退租日期"), null=True, blank=True)
    reminded_on = models.DateField(_("已提醒日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("出租屋登记")
        verbose_name_plural = _("出租屋登记")
        ordering = ["date_to", "id"]
        indexes = [models.Index(fields=["ended_on", "date_to"], name="tenancy_expiry")]

    def __str__(self) -> str:
        return f"{self.room} {self.date_from}–{self.date_to}"


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
    household = models.ForeignKey(
        Household,
        verbose_name=_("户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residencies",
    )
    kinship = models.CharField(
        _("与户主关系"), max_length=2, choices=Kinship.choices, blank=True, default=""
    )
    tenancy = models.ForeignKey(
        Tenancy,
        verbose_name=_("出租屋登记"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residencies",
    )

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


class Vehicle(models.Model):
    """A resident's motor vehicle (车辆), by its validated plate."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        Person, verbose_name=_("车主"), on_delete=models.PROTECT, related_name="vehicles"
    )
    plate = models.CharField(_("车牌号"), max_length=10)
    plate_kind = models.CharField(_("号牌种类"), max_length=16)
    description = models.CharField(_("车辆描述"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("车辆")
        verbose_name_plural = _("车辆")
        ordering = ["plate"]
        constraints = [
            models.UniqueConstraint(fields=["community", "plate"], name="vehicle_plate_unique")
        ]

    def __str__(self) -> str:
        return self.plate


class CareRecord(models.Model):
    """A special-care tag on a person in one community (重点关爱); needs ``person.care_view``."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="care_records"
    )
    tag = models.CharField(_("关爱类别"), max_length=24, choices=CareTag.choices)
    note = models.CharField(_("备注"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("关爱标签")
        verbose_name_plural = _("关爱标签")
        ordering = ["tag", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "person", "tag"], name="care_tag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.tag}"
