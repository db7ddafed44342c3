"""Tables of devices: the registry, the messages they send, their status and commands."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import ScopedQuerySet
from linli.devices.choices import (
    CommandName,
    CommandStatus,
    DeviceKind,
    DeviceStatus,
    Transport,
    UpType,
)


class Device(models.Model):
    """A terminal or sensor of a community (设备).

    ``code`` is the device id used in messages and MQTT topics (unique in the deployment).
    The secret is shown once when issued: only its hash is kept for token auth, with the
    signing key derived from it sealed for HMAC signatures, and a Mosquitto-format hash
    for the broker's password file. ``credential_version`` counts rotations.
    """

    scope_field = "community_id"
    sealed_fields = {"signing_key_sealed": "device.signing_key"}

    community = models.ForeignKey(
        "places.Community", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.SlugField(_("设备编号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=24, choices=DeviceKind.choices)
    serial = models.CharField(_("序列号"), max_length=64)
    vendor = models.CharField(_("厂商"), max_length=100, blank=True, default="")
    model = models.CharField(_("型号"), max_length=100, blank=True, default="")
    firmware = models.CharField(_("固件版本"), max_length=50, blank=True, default="")
    building = models.ForeignKey(
        "places.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unit = models.ForeignKey(
        "places.Unit",
        verbose_name=_("单元"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    area = models.ForeignKey(
        "places.Area",
        verbose_name=_("区域"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tags = models.JSONField(_("标签"), default=list, blank=True)
    secret_hash = models.CharField(max_length=64, blank=True, default="")
    signing_key_sealed = models.TextField(blank=True, default="")
    mqtt_password_hash = models.TextField(blank=True, default="")
    credential_version = models.PositiveIntegerField(default=0)
    credential_issued_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        _("在线状态"), max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.UNKNOWN
    )
    last_seen_at = models.DateTimeField(_("最后通信"), null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_seconds = models.PositiveIntegerField(_("心跳间隔 (秒)"), default=60)
    desired_config = models.JSONField(_("期望配置"), default=dict, blank=True)
    desired_version = models.PositiveIntegerField(default=0)
    reported_config = models.JSONField(_("上报配置"), default=dict, blank=True)
    reported_version = models.PositiveIntegerField(default=0)
    # When the device sent the state now recorded: an older state arriving late is ignored.
    reported_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ["community_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "serial"], name="device_serial_unique")
        ]
        indexes = [
            models.Index(fields=["community", "kind"], name="device_community_kind"),
            models.Index(fields=["status", "last_seen_at"], name="device_liveness"),
        ]

    def __str__(self) -> str:
        return self.name or self.code


class DeviceMessage(models.Model):
    """One message a device sent (上行消息), stored once per ``(device, msg_id)``.

    Append-only and high-volume: no other table points here, and reads go by
    (community, received time) or (device, received time), so the table can be
    partitioned by time on PostgreSQL without changing the code.
    """

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="messages")
    msg_id = models.CharField(max_length=64)
    type = models.CharField(max_length=16, choices=UpType.choices)
    ts = models.DateTimeField()
    received_at = models.DateTimeField()
    transport = models.CharField(max_length=4, choices=Transport.choices)
    payload = models.JSONField(default=dict)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备消息")
        verbose_name_plural = _("设备消息")
        constraints = [
            models.UniqueConstraint(fields=["device", "msg_id"], name="device_message_once")
        ]
        indexes = [
            models.Index(fields=["community", "received_at"], name="devmsg_community_time"),
            models.Index(fields=["device", "type", "received_at"], name="devmsg_device_time"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.msg_id}"


class StatusChange(models.Model):
    """A device going online or offline (上下线记录), for the device page and alarms."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=10, choices=DeviceStatus.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=32)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["device", "at"], name="statuschange_device_time")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.status} {self.at}"


class Command(models.Model):
    """A command to a device (下行指令): queued, delivered, acknowledged, timed out, retried."""

    scope_field = "community_id"

    community = models.ForeignKey("places.Community", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    msg_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("指令"), max_length=24, choices=CommandName.choices)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    timeout_seconds = models.PositiveIntegerField(_("超时 (秒)"), default=30)
    # Every transition, oldest first: {"at": ISO time, "status": ..., and "attempt" or "by"}.
    history = models.JSONField(default=list, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备指令")
        verbose_name_plural = _("设备指令")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["device", "status"], name="command_device_status"),
            models.Index(fields=["status", "deadline"], name="command_due"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.device_id}"


class Rejection(models.Model):
    """Counts of refused device messages per sender and reason (拒收计数).

    ``sender`` is the device id the message claimed ("" when it named none); ``device`` is
    set when that id is a registered device.
    """

    sender = models.CharField(max_length=64, blank=True, default="")
    community = models.ForeignKey(
        "places.Community", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections"
    )
    reason = models.CharField(max_length=40)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField()
    last_detail = models.CharField(max_length=200, blank=True, default="")

    objects = ScopedQuerySet.as_manager()
    scope_field = "community_id"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "reason"], name="rejection_per_reason")
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.reason} ×{self.count}"


class DeviceNonce(models.Model):
    """A nonce a device used to sign an HTTP request, kept to refuse its replay (防重放).

    Kept only while a signed request's timestamp is accepted (±5 minutes, so 10 minutes);
    the HTTP device API purges older rows.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "nonce"], name="device_nonce_once")
        ]
        indexes = [models.Index(fields=["seen_at"], name="device_nonce_seen")]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.nonce}"
