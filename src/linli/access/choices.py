"""Enumerations of access control: points, directions, groups, credentials, decisions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PointKind(models.TextChoices):
    """What kind of passage an access point is (通行点类型)."""

    DOOR = "door", _("门")
    BUILDING_ENTRANCE = "building_entrance", _("单元门")
    COMMUNITY_GATE = "community_gate", _("小区大门")
    ELEVATOR = "elevator", _("电梯")
    PARKING_BARRIER = "parking_barrier", _("停车场道闸")


class Direction(models.TextChoices):
    """Which way people pass an access point."""

    IN = "in", _("进")
    OUT = "out", _("出")
    BOTH = "both", _("双向")


class GroupKind(models.TextChoices):
    """Who a policy is about (人员组类型)."""

    RESIDENTS = "residents", _("住户")  # of the community, or of a building or unit
    STAFF = "staff", _("工作人员")  # users holding given roles on the community
    SERVICE_PROVIDERS = "service_providers", _("服务商")
    VISITORS = "visitors", _("访客")
    LIST = "list", _("指定名单")


class Effect(models.TextChoices):
    """What a policy does; an explicit deny wins over any allow."""

    ALLOW = "allow", _("允许")
    DENY = "deny", _("禁止")


class HolidayRule(models.TextChoices):
    """What a schedule does on a public holiday."""

    AS_USUAL = "as_usual", _("照常")
    CLOSED = "closed", _("节假日不开放")
    HOLIDAY_WINDOWS = "holiday_windows", _("按节假日时段")


class DayKind(models.TextChoices):
    """A public holiday, or a weekend day worked in exchange (调休上班)."""

    HOLIDAY = "holiday", _("节假日")
    WORKDAY = "workday", _("调休工作日")


class CredentialKind(models.TextChoices):
    """Ways a person proves who they are at a door (凭证类型)."""

    QR = "qr", _("一码通")
    CARD = "card", _("IC卡")
    PIN = "pin", _("密码")
    FACE = "face", _("人脸")
    VOICE = "voice", _("声纹")


BIOMETRIC_KINDS = frozenset({CredentialKind.FACE, CredentialKind.VOICE})


class CredentialStatus(models.TextChoices):
    """Where a credential is in its life (凭证状态)."""

    ACTIVE = "active", _("有效")
    SUSPENDED = "suspended", _("挂起")
    REVOKED = "revoked", _("已注销")
    EXPIRED = "expired", _("已过期")


class Modality(models.TextChoices):
    """A biometric a person may consent to."""

    FACE = "face", _("人脸")
    VOICE = "voice", _("声纹")


class ConsentChannel(models.TextChoices):
    """Where consent was given."""

    APP = "app", _("居民端")
    FRONT_DESK = "front_desk", _("前台")
    PAPER = "paper", _("纸质")


class Result(models.TextChoices):
    """The outcome of an access attempt."""

    ALLOW = "allow", _("通过")
    DENY = "deny", _("拒绝")


class Mode(models.TextChoices):
    """Who decided: the platform online, or a terminal offline from its allowlist."""

    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")


class VisitorStatus(models.TextChoices):
    """A visitor pass's life (访客状态)."""

    INVITED = "invited", _("已邀请")
    ARRIVED = "arrived", _("已到访")
    LEFT = "left", _("已离开")
    CANCELLED = "cancelled", _("已取消")
    EXPIRED = "expired", _("已过期")


# What the access log shows for each reason code (docs/access.md lists the codes).
REASON_LABELS: dict[str, object] = {
    "allowed": _("通过"),
    "visitor_allowed": _("访客通过"),
    "point_disabled": _("通行点已停用"),
    "malformed": _("无法识别"),
    "unknown_credential": _("未登记的凭证"),
    "wrong_pin": _("密码错误"),
    "pin_locked": _("密码已锁定"),
    "replayed": _("通行码重复使用"),
    "credential_suspended": _("凭证已挂起"),
    "credential_revoked": _("凭证已注销"),
    "credential_expired": _("凭证已过期"),
    "credential_not_yet_valid": _("凭证尚未生效"),
    "no_consent": _("未同意生物特征采集"),
    "no_permission": _("无通行权限"),
    "outside_schedule": _("不在通行时段"),
    "denied_by_policy": _("策略禁止"),
    "visitor_not_yet_valid": _("访客尚未到时间"),
    "visitor_expired": _("访客已过期"),
    "visitor_cancelled": _("访客已取消"),
    "door_forced": _("门被强行打开"),
    "door_held_open": _("门长时间未关"),
    "tailgating": _("尾随通行"),
    "pass_expired": _("通行码已过期"),
    "pass_forged": _("通行码伪造"),
    "pass_revoked_key": _("通行码密钥已吊销"),
    "pass_unknown_key": _("通行码密钥未知"),
    "pass_wrong_community": _("非本社区通行码"),
    "pass_not_yet_valid": _("通行码时间不符"),
    "pass_malformed": _("通行码无法识别"),
    "pass_truncated": _("通行码不完整"),
    "pass_wrong_scope": _("通行码用途不符"),
    "pass_unsupported_version": _("通行码版本不支持"),
    "pass_bad_lifetime": _("通行码有效期异常"),
}


def reason_label(code: str) -> str:
    """The display label of a reason code (the code itself if unknown)."""
    return str(REASON_LABELS.get(code, code))
