"""Tables of access control: who may pass where and when, with what, and what happened."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.access.choices import (
    ConsentChannel,
    CredentialKind,
    CredentialStatus,
    DayKind,
    Direction,
    Effect,
    GroupKind,
    HolidayRule,
    Modality,
    Mode,
    PointKind,
    Result,
    VisitorStatus,
)
from linli.core.tenancy import ScopedQuerySet

_COMMUNITY = "places.Community"


def _community() -> models.ForeignKey:
    return models.ForeignKey(
        _COMMUNITY, verbose_name=_("社区"), on_delete=models.CASCADE, related_name="+"
    )


def _optional(to: str, label: Any, on_delete: Any = models.SET_NULL) -> models.ForeignKey:
    return models.ForeignKey(
        to,
        verbose_name=label,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name="+",
    )


class AccessPoint(models.Model):
    """A place people pass under control: a door, an entrance, a gate, a lift, a barrier."""

    scope_field = "community_id"

    community = _community()
    code = models.SlugField(_("编号"), max_length=40)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=PointKind.choices)
    direction = models.CharField(
        _("方向"), max_length=4, choices=Direction.choices, default=Direction.BOTH
    )
    building = _optional("places.Building", _("楼栋"))
    unit = _optional("places.Unit", _("单元"))
    area = _optional("places.Area", _("区域"))
    devices = models.ManyToManyField(
        "devices.Device", verbose_name=_("终端"), blank=True, related_name="access_points"
    )
    enabled = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("通行点")
        verbose_name_plural = _("通行点")
        ordering = ["community_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["community", "code"], name="access_point_code")
        ]

    def __str__(self) -> str:
        return self.name


class Schedule(models.Model):
    """When a policy applies: weekly windows, a holiday rule and an optional date range.

    ``windows`` is a list of ``{"days": [1…7], "start": "HH:MM", "end": "HH:MM"}`` in the
    community's time zone (ISO weekdays, Monday = 1). ``end`` "24:00" is the end of the
    day; a window whose end is before its start runs past midnight into the next day and
    belongs to the day it starts on.
    """

    scope_field = "community_id"

    community = _community()
    name = models.CharField(_("名称"), max_length=100)
    windows = models.JSONField(_("每周时段"), default=list)
    holiday_rule = models.CharField(
        _("节假日"), max_length=16, choices=HolidayRule.choices, default=HolidayRule.AS_USUAL
    )
    holiday_windows = models.JSONField(_("节假日时段"), default=list, blank=True)
    date_from = models.DateField(_("起始日期"), null=True, blank=True)
    date_to = models.DateField(_("结束日期"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("时间表")
        verbose_name_plural = _("时间表")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A public holiday, or a weekend day worked in exchange (调休), for every community
    (``community`` empty) or one."""

    community = _optional(_COMMUNITY, _("社区"), models.CASCADE)
    date = models.DateField(_("日期"))
    kind = models.CharField(_("类型"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True, default="")

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "date"],
                condition=models.Q(community__isnull=False),
                name="holiday_once_per_community",
            ),
            models.UniqueConstraint(
                fields=["date"], condition=models.Q(community__isnull=True), name="holiday_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Group(models.Model):
    """Who a policy is about (人员组).

    Residents of the community, of a building or of a unit; staff holding one of
    ``roles`` on the community; service providers; visitors with a valid pass; or a
    named list of people.
    """

    scope_field = "community_id"

    community = _community()
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=GroupKind.choices)
    building = _optional("places.Building", _("楼栋"), models.CASCADE)
    unit = _optional("places.Unit", _("单元"), models.CASCADE)
    roles = models.JSONField(_("角色"), default=list, blank=True)
    members = models.ManyToManyField(
        "people.Person", verbose_name=_("成员"), blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员组")
        verbose_name_plural = _("人员组")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """Group × access points × schedule → allow or deny (通行策略)."""

    scope_field = "community_id"

    community = _community()
    name = models.CharField(_("名称"), max_length=100)
    effect = models.CharField(_("效果"), max_length=5, choices=Effect.choices)
    group = models.ForeignKey(
        Group, verbose_name=_("人员组"), on_delete=models.PROTECT, related_name="policies"
    )
    points = models.ManyToManyField(
        AccessPoint, verbose_name=_("通行点"), blank=True, related_name="policies"
    )
    all_points = models.BooleanField(_("全部通行点"), default=False)
    schedule = models.ForeignKey(
        Schedule,
        verbose_name=_("时间表"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
    )
    valid_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    valid_until = models.DateTimeField(_("失效时间"), null=True, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("通行策略")
        verbose_name_plural = _("通行策略")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class AccessRight(models.Model):
    """The compiled form of the policies: one row per (person, access point, policy).

    Rebuilt by :mod:`linli.access.compile` when policies, groups or residencies change.
    Answers "who may open X" and "where may P go" with one indexed read each; the
    schedule is then evaluated in memory.
    """

    scope_field = "community_id"

    community = models.ForeignKey(_COMMUNITY, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    point = models.ForeignKey(AccessPoint, on_delete=models.CASCADE, related_name="rights")
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rights")
    effect = models.CharField(max_length=5, choices=Effect.choices)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "person", "point"], name="access_right_once")
        ]
        indexes = [
            models.Index(fields=["point", "person"], name="access_right_point"),
            models.Index(fields=["person", "point"], name="access_right_person"),
        ]

    def __str__(self) -> str:
        return f"{self.effect} {self.person_id} @ {self.point_id}"


class Consent(models.Model):
    """A person's consent to one biometric (同意书): text version, channel, guardian."""

    scope_field = "community_id"

    community = _community()
    person = models.ForeignKey(
        "people.Person", verbose_name=_("人员"), on_delete=models.CASCADE, related_name="+"
    )
    modality = models.CharField(_("生物特征"), max_length=5, choices=Modality.choices)
    text_version = models.CharField(_("告知书版本"), max_length=20)
    channel = models.CharField(_("渠道"), max_length=10, choices=ConsentChannel.choices)
    guardian_name = models.CharField(_("监护人"), max_length=100, blank=True, default="")
    given_at = models.DateTimeField(_("同意时间"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("生物特征同意")
        verbose_name_plural = _("生物特征同意")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "person", "modality"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_consent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.modality} consent of {self.person_id}"


class Credential(models.Model):
    """One way a person (or a visitor) proves who they are (凭证).

    A card is kept as a keyed hash of its UID (for lookup) and the UID sealed; a PIN as a
    keyed hash only. A face or voice credential refers to the consent that allows it and
    is only active while that consent is.
    """

    scope_field = "community_id"
    sealed_fields = {"secret_sealed": "access.credential"}

    community = _community()
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("人员"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    visitor = models.ForeignKey(
        "access.Visitor",
        verbose_name=_("访客"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    kind = models.CharField(_("类型"), max_length=5, choices=CredentialKind.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    lookup_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    secret_sealed = models.TextField(blank=True, default="")
    masked = models.CharField(_("卡号"), max_length=40, blank=True, default="")
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    valid_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    valid_until = models.DateTimeField(_("失效时间"), null=True, blank=True)
    issued_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    changed_at = models.DateTimeField(_("变更时间"), auto_now=True)
    status_reason = models.CharField(_("原因"), max_length=100, blank=True, default="")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("凭证")
        verbose_name_plural = _("凭证")
        ordering = ["community_id", "person_id", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False) | models.Q(visitor__isnull=False),
                name="credential_has_holder",
            ),
            models.UniqueConstraint(
                fields=["community", "kind", "lookup_hash"],
                condition=models.Q(status="active") & ~models.Q(lookup_hash=""),
                name="credential_lookup_unique",
            ),
        ]
        indexes = [models.Index(fields=["person", "status"], name="credential_person")]

    def __str__(self) -> str:
        return f"{self.kind} {self.masked or self.pk}"


class SigningKey(models.Model):
    """A community's Ed25519 key for 一码通 passes; its id is the pass's key id.

    The newest active key signs. A rotated key still verifies until ``retired_at`` plus
    a pass lifetime; a revoked key (compromised) verifies nothing from then on.
    """

    scope_field = "community_id"
    sealed_fields = {"private_sealed": "access.signing_key"}

    community = _community()
    public_key = models.BinaryField(max_length=32)
    private_sealed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["community_id", "-created_at"]

    def __str__(self) -> str:
        return f"key {self.pk} of community {self.community_id}"


class PassUse(models.Model):
    """A pass seen by the platform, kept until it expires, so a replay is refused."""

    key_id = models.BigIntegerField()
    nonce = models.BinaryField(max_length=8)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "nonce"], name="pass_used_once")]

    def __str__(self) -> str:
        return f"pass {self.key_id}:{bytes(self.nonce).hex()}"


class Visitor(models.Model):
    """A visitor invited by a resident or registered at the front desk (访客)."""

    scope_field = "community_id"
    sealed_fields = {"phone_sealed": "access.visitor_phone"}

    community = _community()
    host = models.ForeignKey(
        "people.Person",
        verbose_name=_("被访人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("访客姓名"), max_length=100)
    phone_sealed = models.TextField(blank=True, default="")
    phone_masked = models.CharField(_("手机号码"), max_length=20, blank=True, default="")
    purpose = models.CharField(_("来访事由"), max_length=100, blank=True, default="")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    points = models.ManyToManyField(
        AccessPoint, verbose_name=_("通行点"), blank=True, related_name="visitors"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=VisitorStatus.choices, default=VisitorStatus.INVITED
    )
    walk_in = models.BooleanField(_("现场登记"), default=False)
    link_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    arrived_at = models.DateTimeField(_("到访时间"), null=True, blank=True)
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("访客")
        verbose_name_plural = _("访客")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["community", "starts_at"], name="visitor_time")]

    def __str__(self) -> str:
        return self.name


class AccessEvent(models.Model):
    """One attempt to pass (通行记录): who, where, how, the result and why.

    Append-only and high-volume, indexed by (community, time) like device messages.
    Offline decisions uploaded by a terminal carry its message id, stored once.
    """

    scope_field = "community_id"

    # Every index is written by every decision: the community, point and person columns
    # are searched through the composite indexes below, which lead with them.
    community = models.ForeignKey(
        _COMMUNITY, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    at = models.DateTimeField(_("时间"))
    point = models.ForeignKey(
        AccessPoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(_("方式"), max_length=8, choices=CredentialKind.choices)
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices, blank=True)
    result = models.CharField(_("结果"), max_length=5, choices=Result.choices)
    reason = models.CharField(_("原因"), max_length=32)
    score = models.FloatField(_("比对分数"), null=True, blank=True)
    snapshot = models.CharField(_("抓拍"), max_length=200, blank=True, default="")
    mode = models.CharField(_("判定"), max_length=7, choices=Mode.choices, default=Mode.ONLINE)
    msg_id = models.CharField(max_length=64, blank=True, default="")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("通行记录")
        verbose_name_plural = _("通行记录")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "msg_id"],
                condition=~models.Q(msg_id=""),
                name="access_event_once",
            )
        ]
        indexes = [
            models.Index(fields=["community", "at"], name="access_event_time"),
            models.Index(fields=["point", "at"], name="access_event_point"),
            models.Index(fields=["person", "at"], name="access_event_person"),
            # The PIN lock-out counts recent wrong PINs at a point without reading its
            # traffic; a partial index is written only for wrong PINs.
            models.Index(
                fields=["point", "at"],
                condition=models.Q(reason="wrong_pin"),
                name="access_event_wrong_pin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.result} {self.reason}"


class AllowlistChange(models.Model):
    """A person's or visitor's access changed: terminals syncing after ``id`` fetch them.

    The id is the allowlist version. Rows are appended by every writer of credentials,
    rights and visitors, and deleted after a while (a terminal further behind than the
    oldest row gets a full list).
    """

    community = models.ForeignKey(_COMMUNITY, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["community", "id"], name="allowlist_change_seq")]

    def __str__(self) -> str:
        return f"change {self.pk} of community {self.community_id}"


class TerminalSync(models.Model):
    """The allowlist version a terminal last fetched, so it is told when there is more."""

    device = models.OneToOneField(
        "devices.Device", on_delete=models.CASCADE, related_name="access_sync"
    )
    version = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.device_id} at version {self.version}"
