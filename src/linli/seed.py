"""Reproducible synthetic communities for demos, tests and benchmarks (``linli seed``).

Everything is written through actions, so a seeded community has the same audit trail,
sealed ID numbers and invariants as one entered by hand. The same ``seed`` always gives
the same names, ID numbers, phones and layout.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric
from tqdm import tqdm

from linli.access.seed import seed_access
from linli.core import errors
from linli.core.actions import do_create_organisation, do_create_user, do_give_grant
from linli.core.choices import OrganisationType, Role
from linli.core.models import Organisation, User
from linli.core.tenancy import Actor
from linli.devices.actions import do_register_device
from linli.devices.status import HEARTBEAT_TIMEOUT, MESSAGE, mark_offline, mark_online
from linli.people.actions import (
    do_add_care_tag,
    do_register_person,
    do_register_vehicle,
    do_start_residency,
)
from linli.people.choices import CareTag, ChangeSource, Kinship, RegistrationCategory, Relation
from linli.people.models import Person
from linli.people.tenancies import do_register_tenancy
from linli.people.vehicles import AUTHORITY_LETTERS
from linli.places.actions import (
    do_create_building,
    do_create_community,
    do_create_rooms,
    do_create_unit,
)
from linli.places.choices import AreaKind
from linli.places.geometry import rectangle
from linli.places.models import Area, Building, Community, Room, Unit

# Common surnames and given-name characters for plausible synthetic names.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰文辉鹏华红玉萍建国志宏婷雪梅琳晨"
    "浩宇欣怡子涵梓轩一诺思远佳怡雨欣俊杰博文嘉懿晓东海燕春花秋菊立新卫东"
)
# Districts of Hangzhou (GB/T 2260 codes) for plausible birthplace prefixes.
DIVISIONS = ("330102", "330105", "330106", "330108", "330109", "330110", "110105", "320106")
MOBILE_PREFIXES = (
    "130",
    "131",
    "135",
    "136",
    "138",
    "139",
    "150",
    "151",
    "158",
    "177",
    "186",
    "188",
    "199",
)

ORIGIN = (120.1300, 30.2700)  # south-west corner of the demo community (Hangzhou, WGS 84)


def synthetic_id(rng: random.Random, birth: dt.date, male: bool) -> str:
    """Return a synthetic 18-digit resident ID with a valid GB 11643 check digit."""
    while True:
        parity = rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
        seq = rng.randrange(0, 100) * 10 + parity
        body = f"{rng.choice(DIVISIONS)}{birth:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):  # the district code must have existed in the birth year
            return number


def chinese_name(rng: random.Random) -> str:
    """Return a plausible Chinese name: a common surname and one or two given characters."""
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def mobile(rng: random.Random) -> str:
    """Return a plausible mainland mobile number."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(0, 10**8):08d}"


def plate_number(rng: random.Random) -> str:
    """Return a plausible Hangzhou plate: 浙A, then an ordinary or (1 in 5) new-energy serial."""
    digits = "0123456789"
    if rng.random() < 0.2:
        serial = (
            rng.choice("DF")
            + rng.choice(digits + "ABCDEFGHJK")
            + "".join(rng.choice(digits) for _ in range(4))
        )
    else:
        serial = "".join(rng.choice(digits) for _ in range(5))
        for position in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
            serial = serial[:position] + rng.choice(AUTHORITY_LETTERS) + serial[position + 1 :]
    return "浙A" + serial


def age_on(birth: dt.date, today: dt.date) -> int:
    """Return the age in whole years on ``today``."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def birth_date(rng: random.Random, today: dt.date) -> dt.date:
    """Return a birth date for an age between 0 and 95, weighted towards adults."""
    age = min(95, max(0, int(rng.gauss(40, 20))))
    return today - dt.timedelta(days=age * 365 + rng.randrange(0, 365))


@dataclass
class SeedSummary:
    """What a seeding run created."""

    community: Community
    buildings: int = 0
    rooms: int = 0
    residents: int = 0
    tenancies: int = 0
    vehicles: int = 0
    care_tags: int = 0
    staff: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        """Return a one-paragraph summary."""
        return (
            f"community {self.community.name} ({self.community.code}): {self.buildings} buildings, "
            f"{self.rooms} rooms, {self.residents} residents, {self.tenancies} rentals, "
            f"{self.vehicles} vehicles, {self.care_tags} care tags, "
            f"{len(self.staff)} staff accounts"
        )


def _organisation(system: Actor, name: str, kind: str) -> Organisation:
    existing = Organisation.objects.filter(name=name, type=kind).first()
    return existing or do_create_organisation(system, name=name, type=kind)


def seed_community(
    *,
    residents: int,
    seed: int,
    code: str = "",
    name: str = "",
    staff_password: str | None = None,
    progress: bool = False,
) -> SeedSummary:
    """Create a community with buildings, rooms, organisations, staff and residents."""
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
    system = Actor.system("seed")
    code = code or f"seed-{seed}"
    if not name:
        name = rng.choice(("翠苑", "金桂", "和园", "星洲", "锦绣")) + rng.choice("一二三") + "区"

    rooms_needed = max(1, math.ceil(residents / (2.6 * 0.85)))
    floors = 6 + rng.randrange(0, 13)
    rooms_per_building = 2 * floors * 2  # two units, two flats per floor
    n_buildings = max(1, math.ceil(rooms_needed / rooms_per_building))
    cols = math.ceil(math.sqrt(n_buildings))
    rows = math.ceil(n_buildings / cols)
    width, height = 60 + cols * 45, 60 + rows * 40
    community = do_create_community(
        system,
        name=name,
        code=code,
        address=f"浙江省杭州市西湖区文三路{rng.randrange(1, 600)}号",
        division_code="330106",
        boundary=rectangle(ORIGIN[0], ORIGIN[1], width, height),
    )
    summary = SeedSummary(community=community)

    # Organisations and their staff accounts.
    orgs = {
        Role.PROPERTY_MANAGER: _organisation(
            system, f"{name}物业服务有限公司", OrganisationType.PROPERTY_COMPANY
        ),
        Role.COMMITTEE_OFFICER: _organisation(
            system, f"{name}社区居民委员会", OrganisationType.COMMUNITY_COMMITTEE
        ),
        Role.STREET_OFFICER: _organisation(
            system, "文新街道办事处", OrganisationType.STREET_OFFICE
        ),
        Role.POLICE_LIAISON: _organisation(system, "文新派出所", OrganisationType.POLICE_STATION),
    }
    if staff_password:
        staff_rng = random.Random(f"{seed}-staff")  # noqa: S311  (keeps residents independent)
        for role, org in orgs.items():
            username = f"{code}-{role.value.split('_')[0]}"
            if not User.objects.filter(username=username).exists():
                user = do_create_user(
                    system,
                    username=username,
                    password=staff_password,
                    display_name=chinese_name(staff_rng),
                    organisation=org,
                )
                do_give_grant(system, community_id=community.pk, role=role, user=user)
                summary.staff.append((username, str(role.label)))

    # Buildings, units and rooms.
    all_rooms: list[Room] = []
    bar = tqdm(total=n_buildings, desc="buildings", disable=not progress, unit="bldg")
    for b in range(n_buildings):
        r, c = divmod(b, cols)
        footprint = rectangle(
            ORIGIN[0] + (30 + c * 45) / (111_320.0 * math.cos(math.radians(ORIGIN[1]))),
            ORIGIN[1] + (30 + r * 40) / 111_320.0,
            32,
            14,
        )
        with transaction.atomic():
            building = do_create_building(
                system,
                community,
                number=str(b + 1),
                floors_above=floors,
                floors_below=1,
                footprint=footprint,
            )
            for u in (1, 2):
                unit = do_create_unit(system, building, number=str(u))
                specs = [
                    (
                        f"{f}{d:02d}",
                        f,
                        Decimal(rng.choice((68, 89, 96, 112, 128, 143))),
                        "residential",
                    )
                    for f in range(1, floors + 1)
                    for d in (1, 2)
                ]
                all_rooms.extend(do_create_rooms(system, unit, specs))
        bar.update(1)
    bar.close()
    summary.buildings = n_buildings
    summary.rooms = len(all_rooms)

    # Residents: households of 1-5 people, the first the owner or (about 8% of rooms) the
    # first tenant of a registered rental (出租屋登记) let by an owner of another flat.
    today = dt.date.today()  # noqa: DTZ011 (a calendar date in the local sense)
    bar = tqdm(total=residents, desc="residents", disable=not progress, unit="person")
    rooms_iter = iter(rng.sample(all_rooms, len(all_rooms)))
    owners: list[Person] = []
    made = households = 0
    while made < residents:
        room = next(rooms_iter, None)
        if room is None:
            break
        size = min(residents - made, rng.choice((1, 2, 2, 3, 3, 3, 4, 5)))
        tenant = households % 12 == 6  # one room in twelve: about 8%
        households += 1
        moved_in = today - dt.timedelta(days=rng.randrange(30, 3650))
        with transaction.atomic():
            household: list[tuple[Person, dt.date, str]] = []
            for i in range(size):
                birth = birth_date(rng, today)
                male = rng.random() < 0.5
                while True:
                    number = synthetic_id(rng, birth, male)
                    try:
                        person = do_register_person(
                            system,
                            community,
                            name=chinese_name(rng),
                            id_number=number,
                            phone=mobile(rng)
                            if birth < today - dt.timedelta(days=16 * 365)
                            else "",
                        )
                        break
                    except Exception as exc:  # a rare duplicate synthetic number: draw again
                        if getattr(exc, "code", "") != "duplicate_id_number":
                            raise
                category = rng.choices(list(RegistrationCategory), weights=(50, 30, 18, 2))[0]
                household.append((person, birth, category))
                if tenant:
                    continue
                do_start_residency(
                    system,
                    person,
                    room,
                    relation=Relation.OWNER if i == 0 else Relation.FAMILY,
                    date_from=moved_in,
                    category=category,
                    kinship=_kinship(i, male),
                    source=ChangeSource.SYSTEM,
                )
            if tenant:
                do_register_tenancy(
                    system,
                    room,
                    landlord=rng.choice(owners) if owners else None,
                    tenants=[(p, category) for p, _b, category in household],
                    date_from=moved_in,
                    date_to=_lease_end(rng, summary.tenancies, today),
                    note="",
                    source=ChangeSource.SYSTEM,
                )
                summary.tenancies += 1
            else:
                owners.append(household[0][0])
            summary.vehicles += _vehicles(system, rng, community, household[0][0])
            summary.care_tags += _care_tags(system, rng, community, household, today)
        made += size
        bar.update(size)
    bar.close()
    summary.residents = made
    return summary


def _kinship(i: int, male: bool) -> str:
    """Return a plausible relation to the head for the ``i``-th member of an owner's family."""
    if i == 0:
        return Kinship.HEAD
    if i == 1:
        return Kinship.SPOUSE
    return Kinship.SON if male else Kinship.DAUGHTER


def _lease_end(rng: random.Random, k: int, today: dt.date) -> dt.date:
    """Return the lease end of the ``k``-th rental: the first overdue, the next three within
    30 days (so the demo shows its reminders), the rest months ahead."""
    if k == 0:
        return today - dt.timedelta(days=rng.randrange(3, 20))
    if k <= 3:
        return today + dt.timedelta(days=rng.randrange(3, 29))
    return today + dt.timedelta(days=rng.randrange(45, 540))


def _vehicles(system: Actor, rng: random.Random, community: Community, owner: Person) -> int:
    """Give about 30% of households a car (a few two), owned by the first member."""
    if rng.random() >= 0.3:
        return 0
    made = 0
    for _ in range(1 if rng.random() < 0.85 else 2):
        for _attempt in range(5):
            try:
                do_register_vehicle(
                    system, owner, community, plate_number(rng), rng.choice(("", "", "白色轿车"))
                )
            except errors.Conflict:  # a plate drawn twice: draw again
                continue
            made += 1
            break
    return made


def _care_tags(
    system: Actor,
    rng: random.Random,
    community: Community,
    household: list[tuple[Person, dt.date, str]],
    today: dt.date,
) -> int:
    """Tag some elderly residents for special care: those living alone, and a few others."""
    made = 0
    for person, birth, _category in household:
        age = age_on(birth, today)
        if age < 70:
            continue
        if len(household) == 1:
            tag = CareTag.ELDERLY_ALONE
        elif rng.random() < 0.3:
            tag = rng.choice((CareTag.EMPTY_NEST, CareTag.DISABLED, CareTag.SERIOUS_ILLNESS))
        else:
            continue
        do_add_care_tag(system, person, community, tag=tag)
        made += 1
    return made


DEMO_CODE = "demo"


# (kind, name, vendor, model, where): "gate" an entrance area, "unit" each unit door, "site"
# the community, "building" one building. A realistic mix for one estate.
DEMO_DEVICES: tuple[tuple[str, str, str, str, str], ...] = (
    ("barrier_gate", "东门车辆道闸", "捷顺", "JSKT6", "gate"),
    ("barrier_gate", "南门车辆道闸", "捷顺", "JSKT6", "gate"),
    ("face_terminal", "东门人行人脸机", "海康威视", "DS-K1T671", "gate"),
    ("face_terminal", "南门人行人脸机", "海康威视", "DS-K1T671", "gate"),
    ("camera", "东门出入口摄像机", "大华", "IPC-HFW3441", "gate"),
    ("camera", "停车场摄像机", "大华", "IPC-HFW3441", "gate"),
    ("door_controller", "单元门禁", "立林", "LL-MJ200", "unit"),
    ("code_reader", "单元二维码读头", "立林", "LL-QR10", "unit"),
    ("smoke_detector", "配电房烟感", "海曼", "HM-608PH", "building"),
    ("gas_detector", "物业厨房燃气探测器", "海曼", "HM-710NVS", "site"),
    ("water_leak", "地下泵房水浸传感器", "涂鸦", "TY-SJ01", "building"),
    ("sos_button", "活动中心紧急按钮", "海曼", "HM-SOS", "site"),
    ("parcel_locker", "智能快递柜", "丰巢", "FC-24", "site"),
    ("elevator_controller", "电梯梯控", "日立", "HX-EC", "building"),
    ("environment_sensor", "花园环境监测", "绿林", "LL-ENV6", "site"),
    ("door_contact", "消防通道门磁", "涂鸦", "TY-MC", "building"),
)


def seed_devices(community: Community, *, seed: int) -> int:
    """Register a realistic mix of about twenty devices; return how many.

    Their secrets are not kept: rotate a device's key on its page to connect a real one.
    Most are marked online, a few offline, as a live estate looks.
    """
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
    system = Actor.system("seed")
    buildings = list(Building.objects.filter(community=community).order_by("number"))
    units = list(Unit.objects.filter(community=community).order_by("building__number", "number"))
    gate = Area.objects.filter(community=community, kind=AreaKind.GATE).first()
    now = timezone.now()
    made = 0
    for kind, name, vendor, model, where in DEMO_DEVICES:
        places: list[tuple[str, dict[str, int | None]]] = [("", {})]
        if where == "unit":
            places = [(f"{u.building} {u.number}", {"unit_id": u.pk}) for u in units[:3]]
        elif where == "building" and buildings:
            places = [("", {"building_id": rng.choice(buildings).pk})]
        elif where == "gate" and gate is not None:
            places = [("", {"area_id": gate.pk})]
        for prefix, location in places:
            made += 1
            device, _secret = do_register_device(
                system,
                community,
                kind=kind,
                code=f"{community.code}-{kind.replace('_', '-')}-{made:02d}",
                name=f"{prefix}{name}",
                serial=f"{vendor[:1]}{rng.randrange(10**9, 10**10)}",
                vendor=vendor,
                model=model,
                firmware=f"{rng.randrange(1, 4)}.{rng.randrange(0, 10)}.{rng.randrange(0, 20)}",
                tags=["演示"],
                heartbeat_seconds=300 if kind.endswith(("detector", "leak", "button")) else 60,
                **location,
            )
            mark_online(device, MESSAGE, now - dt.timedelta(seconds=rng.randrange(1, 50)))
            if rng.random() < 0.15:
                mark_offline(device, HEARTBEAT_TIMEOUT, now)
    return made


def ensure_demo(*, password: str, residents: int = 300) -> list[tuple[str, str]]:
    """Seed the demo community and accounts once; return ``(username, role)`` logins."""
    system = Actor.system("demo")
    logins: list[tuple[str, str]] = [("admin", str(Role.PLATFORM_ADMIN.label))]
    if not User.objects.filter(username="admin").exists():
        admin = do_create_user(
            system, username="admin", password=password, display_name="平台管理员"
        )
        do_give_grant(system, community_id=None, role=Role.PLATFORM_ADMIN, user=admin)
    community = Community.objects.filter(code=DEMO_CODE).first()
    if community is None:
        summary = seed_community(
            residents=residents,
            seed=2026,
            code=DEMO_CODE,
            name="翠苑一区",
            staff_password=password,
            progress=True,
        )
        seed_devices(summary.community, seed=2026)
        seed_access(summary.community, seed=2026)
        logins += summary.staff
    else:
        logins += [
            (u.username, str(Role(g.role).label))
            for g in community.grants.select_related("user").filter(user__isnull=False)
            for u in [g.user]
            if u is not None
        ]
    return logins
