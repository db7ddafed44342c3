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


class Kinship(models.TextChoices):
    """A household member's relation to the household head (与户主关系), GB/T 4761-2008.

    The values are the standard's first-level codes; the finer codes (11 夫, 12 妻, 21
    独生子 …) fold into their group.
    """

    HEAD = "02", _("户主")
    SPOUSE = "10", _("配偶")
    SON = "20", _("子")
    DAUGHTER = "30", _("女")
    GRANDCHILD = "40", _("孙子女或外孙子女")
    PARENT = "50", _("父母")
    GRANDPARENT = "60", _("祖父母或外祖父母")
    SIBLING = "70", _("兄弟姐妹")
    OTHER_RELATIVE = "80", _("其他亲属")
    NON_RELATIVE = "99", _("非亲属")


class CareTag(models.TextChoices):
    """Special-care tags (重点关爱对象); visible only with ``person.care_view``."""

    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    DISABLED = "disabled", _("残疾人")
    LOW_INCOME = "low_income", _("低保户")
    SPECIAL_HARDSHIP = "special_hardship", _("特困人员")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    SERIOUS_ILLNESS = "serious_illness", _("重病患者")
    VETERAN = "veteran", _("退役军人")
    MENTAL_HEALTH = "mental_health", _("严重精神障碍患者")


class TenancyPurpose(models.TextChoices):
    """What a rented room is used for (出租用途)."""

    RESIDENTIAL = "residential", _("居住")
    COMMERCIAL = "commercial", _("经营")
    DORMITORY = "dormitory", _("员工宿舍")
