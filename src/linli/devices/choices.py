"""Enumerations of devices: the catalogue of kinds, statuses, message and command types."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    """The device catalogue (设备类型)."""

    FACE_TERMINAL = "face_terminal", _("人脸识别终端")
    VOICE_TERMINAL = "voice_terminal", _("声纹识别终端")
    CODE_READER = "code_reader", _("二维码/刷卡读头")
    DOOR_CONTROLLER = "door_controller", _("门禁控制器")
    CAMERA = "camera", _("摄像机")
    SMOKE_DETECTOR = "smoke_detector", _("烟感探测器")
    GAS_DETECTOR = "gas_detector", _("燃气探测器")
    WATER_LEAK = "water_leak", _("水浸传感器")
    DOOR_CONTACT = "door_contact", _("门磁")
    PIR_DETECTOR = "pir_detector", _("红外探测器")
    SOS_BUTTON = "sos_button", _("紧急按钮")
    PARCEL_LOCKER = "parcel_locker", _("智能快递柜")
    BARRIER_GATE = "barrier_gate", _("道闸")
    ELEVATOR_CONTROLLER = "elevator_controller", _("梯控")
    ENVIRONMENT_SENSOR = "environment_sensor", _("环境传感器")


class DeviceStatus(models.TextChoices):
    """Whether the platform hears from a device (在线状态)."""

    UNKNOWN = "unknown", _("未连接")
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")


class Transport(models.TextChoices):
    """How a message reached the platform."""

    HTTP = "http", "HTTP"
    MQTT = "mqtt", "MQTT"


class UpType(models.TextChoices):
    """Messages a device sends (上行)."""

    HEARTBEAT = "heartbeat", _("心跳")
    TELEMETRY = "telemetry", _("遥测")
    EVENT = "event", _("事件")
    STATE = "state", _("状态")
    COMMAND_RESULT = "command_result", _("指令结果")
    ACCESS_REQUEST = "access_request", _("通行请求")


class CommandName(models.TextChoices):
    """Commands the platform sends (下行指令)."""

    OPEN_DOOR = "open_door", _("开门")
    SYNC_CREDENTIALS = "sync_credentials", _("同步凭证")
    SET_CONFIG = "set_config", _("下发配置")
    REBOOT = "reboot", _("重启")


class CommandStatus(models.TextChoices):
    """Where a command is in its life (指令状态)."""

    QUEUED = "queued", _("排队中")
    SENT = "sent", _("已下发")
    SUCCEEDED = "succeeded", _("已执行")
    FAILED = "failed", _("执行失败")
    TIMED_OUT = "timed_out", _("超时")
    CANCELLED = "cancelled", _("已取消")
