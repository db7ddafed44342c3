"""Enumerations and code tables of people."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdType(models.TextChoices):
    """Kinds of identity document."""

    RESIDENT_ID = "resident_id", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAO_PERMIT = "hk_macao_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    FOREIGNER_PR = "foreigner_pr", _("外国人永久居留身份证")
    OTHER = "other", _("其他")


class Sex(models.TextChoices):
    """Sex per GB/T 2261.1."""

    UNKNOWN = "0", _("未知的性别")
    MALE = "1", _("男")
    FEMALE = "2", _("女")
    UNSTATED = "9", _("未说明的性别")


class Relation(models.TextChoices):
    """How a person relates to the room they live in."""

    OWNER = "owner", _("业主")
    FAMILY = "family", _("家庭成员")
    TENANT = "tenant", _("租户")
    OTHER = "other", _("其他")


class RegistrationCategory(models.TextChoices):
    """Household-registration category (户籍类别)."""

    REGISTERED = "registered", _("户籍")
    PERMANENT = "permanent", _("常住")
    FLOATING = "floating", _("流动")
    OVERSEAS = "overseas", _("境外")


class ChangeKind(models.TextChoices):
    """Kinds of population change (人口变动)."""

    MOVE_IN = "move_in", _("迁入")
    MOVE_OUT = "move_out", _("迁出")
    TENANCY_START = "tenancy_start", _("租住开始")
    TENANCY_END = "tenancy_end", _("租住结束")
    HOUSEHOLD_CHANGE = "household_change", _("户内变动")


class ChangeSource(models.TextChoices):
    """Where a population change was entered."""

    CONSOLE = "console", _("控制台")
    API = "api", _("接口")
    IMPORT = "import", _("导入")
    SYSTEM = "system", _("系统")
