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
