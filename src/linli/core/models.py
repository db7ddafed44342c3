"""Tables of the core domain: organisations, users, grants, audit, tokens, tasks."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.choices import OrganisationType, Role
from linli.core.tenancy import ScopedQuerySet


class Organisation(models.Model):
    """An organisation that acts on communities: property company, committee, police… (组织)."""

    name = models.CharField(_("名称"), max_length=200)
    type = models.CharField(_("类型"), max_length=32, choices=OrganisationType.choices)
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, blank=True, default="", db_index=True
    )
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True, default="")
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["name", "type"], name="organisation_name_type_unique")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in to the console or API (用户). Residents are users too."""

    display_name = models.CharField(_("显示名"), max_length=100, blank=True, default="")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("所属组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class GrantQuerySet(ScopedQuerySet["Grant"]):
    """Grants, scoped by the community they apply to."""


class Grant(models.Model):
    """A role held on a community by a user or by an organisation (授权).

    A grant to an organisation applies to all its members. A platform administrator's
    grant may have no community: it then applies to every community.
    """

    scope_field = "community"

    community = models.ForeignKey(
        "places.Community",
        verbose_name=_("社区"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("授予时间"), auto_now_add=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("授权")
        verbose_name_plural = _("授权")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(organisation__isnull=True))
                | (Q(user__isnull=True) & Q(organisation__isnull=False)),
                name="grant_user_xor_organisation",
            ),
            models.CheckConstraint(
                condition=Q(community__isnull=False) | Q(role=Role.PLATFORM_ADMIN),
                name="grant_global_only_platform_admin",
            ),
            models.UniqueConstraint(
                fields=["community", "role", "user"],
                condition=Q(user__isnull=False),
                name="grant_unique_user_role",
            ),
            models.UniqueConstraint(
                fields=["community", "role", "organisation"],
                condition=Q(organisation__isnull=False),
                name="grant_unique_org_role",
            ),
        ]

    def __str__(self) -> str:
        holder = self.user or self.organisation
        where = self.community or _("全部社区")
        return f"{holder} · {self.get_role_display()} · {where}"


class AuditLogQuerySet(ScopedQuerySet["AuditLog"]):
    """Audit rows, scoped by the community they concern."""


class AuditLog(models.Model):
    """One write or sensitive read, with who, what, before/after, request id and IP (审计日志).

    Rows are append-only: no action updates or deletes them. ``community_id`` is a plain
    column, not a foreign key, so the trail outlives the objects it describes.
    """

    scope_field = "community_id"

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("操作者"), max_length=150)
    community_id = models.BigIntegerField(_("社区"), null=True, blank=True)
    action = models.CharField(_("动作"), max_length=64)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True, default="")
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, default="")
    object_repr = models.CharField(_("对象"), max_length=200, blank=True, default="")
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    sensitive = models.BooleanField(_("敏感读取"), default=False)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True, default="")
    client_ip = models.GenericIPAddressField(_("客户端 IP"), null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["community_id", "created_at"], name="audit_community_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class ApiToken(models.Model):
    """A program's credential acting as its user (API 令牌); only a SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    read_only = models.BooleanField(_("只读"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginFailure(models.Model):
    """A failed sign-in, kept briefly to throttle password guessing across processes."""

    username = models.CharField(max_length=150, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("登录失败")
        verbose_name_plural = _("登录失败")

    def __str__(self) -> str:
        return f"{self.username}@{self.client_ip} {self.created_at:%Y-%m-%d %H:%M:%S}"


class Task(models.Model):
    """A unit of background work, written in the transaction that needs it (任务).

    The worker claims due tasks, runs them at least once, retries with backoff, and
    records the outcome. Task functions receive ids, never objects, and are idempotent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("等待")
        RUNNING = "running", _("运行中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失败")

    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    run_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        indexes = [models.Index(fields=["status", "run_after"], name="task_due")]

    def __str__(self) -> str:
        return f"{self.name}#{self.pk} {self.status}"


class ImportJob(models.Model):
    """A spreadsheet upload imported in the background by the worker (导入任务).

    The upload is stored sealed (it may hold ID numbers) until the job finishes, then
    deleted. ``total`` and ``done`` are the rows to write and written when the job ended;
    while it runs, live progress is kept outside the database (see :mod:`linli.core.jobs`),
    because an all-or-nothing import writes in one transaction. The report keeps each
    problem's row, column key, value (personal data masked), reason and code.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        REFUSED = "refused", _("文件被拒绝")
        FAILED = "failed", _("失败")

    scope_field = "community_id"

    kind = models.CharField(_("类型"), max_length=64)
    community = models.ForeignKey(
        "places.Community", verbose_name=_("社区"), on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("操作者"), max_length=150)
    mode = models.CharField(_("导入方式"), max_length=16)
    filename = models.CharField(_("文件名"), max_length=200, blank=True, default="")
    size = models.PositiveIntegerField(_("文件大小"), default=0)
    upload_sealed = models.TextField(blank=True, default="")
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    total = models.PositiveIntegerField(_("待写入行数"), default=0)
    done = models.PositiveIntegerField(_("已处理行数"), default=0)
    read = models.PositiveIntegerField(_("读取行数"), default=0)
    applied = models.PositiveIntegerField(_("新增或修改"), default=0)
    unchanged = models.PositiveIntegerField(_("无变化"), default=0)
    invalid = models.PositiveIntegerField(_("有问题的行"), default=0)
    aborted = models.BooleanField(_("已撤销"), default=False)
    message = models.TextField(_("说明"), blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=list, blank=True)
    omitted = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["community", "created_by", "created_at"], name="importjob_mine")
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk} {self.status}"

    @property
    def finished(self) -> bool:
        """Tell whether the job has ended, one way or another."""
        return self.status in (self.Status.DONE, self.Status.REFUSED, self.Status.FAILED)

    @property
    def ok(self) -> bool:
        """Tell whether every row was imported without a problem."""
        return self.status == self.Status.DONE and not self.invalid and not self.aborted
