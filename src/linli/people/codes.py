"""National code tables for residents: ethnic group, country or region, sex.

* 民族 — GB/T 3304-1991 《中国各民族名称的罗马字母拼写法和代码》: the 56 groups with the
  standard's two-digit codes and Roman spellings, plus ``98`` (外国血统中国籍人士), the code
  that resident-ID and household-registration data use next to the 56 for naturalised
  citizens of foreign origin.
* 国家和地区 — GB/T 2659 《世界各国和地区名称代码》, which is ISO 3166-1: read from pycountry
  (English names) and its ``zh_CN`` catalogue (Chinese names). Alpha-3 is the canonical value.
* 性别 — GB/T 2261.1, already :class:`linli.people.choices.Sex`; here only parsed.

Each ``parse_*`` accepts what people type or what an import file holds and returns the
canonical code, or raises :class:`UnknownCode` (a ``ValueError`` and a ``ValidationFailed``,
so an API route or import turns it into a field error without catching it).
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pycountry
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import errors
from linli.people.choices import Sex


class UnknownCode(errors.ValidationFailed, ValueError):
    """A value found in none of the entries of the code table it was looked up in."""

    code = "unknown_code"

    def __init__(self, field: str, message: Any, *, code: str) -> None:
        super().__init__(message, code=code, details={field: [message]})
        self.field = field


def _clean(text: object) -> str:
    """Return ``text`` as a string with full-width forms folded and outer spaces removed."""
    return unicodedata.normalize("NFKC", str(text if text is not None else "")).strip()


def _shown(value: str) -> str:
    """Return ``value`` short enough to quote in an error message."""
    return value if len(value) <= 40 else value[:39] + "…"


# --- 民族 (GB/T 3304-1991) -----------------------------------------------------------


class Ethnicity(models.TextChoices):
    """Ethnic group (民族) per GB/T 3304-1991; the value is the standard's two-digit code."""

    HAN = "01", gettext_lazy("汉族")
    MONGOL = "02", gettext_lazy("蒙古族")
    HUI = "03", gettext_lazy("回族")
    ZANG = "04", gettext_lazy("藏族")
    UYGUR = "05", gettext_lazy("维吾尔族")
    MIAO = "06", gettext_lazy("苗族")
    YI = "07", gettext_lazy("彝族")
    ZHUANG = "08", gettext_lazy("壮族")
    BUYEI = "09", gettext_lazy("布依族")
    CHOSEN = "10", gettext_lazy("朝鲜族")
    MAN = "11", gettext_lazy("满族")
    DONG = "12", gettext_lazy("侗族")
    YAO = "13", gettext_lazy("瑶族")
    BAI = "14", gettext_lazy("白族")
    TUJIA = "15", gettext_lazy("土家族")
    HANI = "16", gettext_lazy("哈尼族")
    KAZAK = "17", gettext_lazy("哈萨克族")
    DAI = "18", gettext_lazy("傣族")
    LI = "19", gettext_lazy("黎族")
    LISU = "20", gettext_lazy("傈僳族")
    VA = "21", gettext_lazy("佤族")
    SHE = "22", gettext_lazy("畲族")
    GAOSHAN = "23", gettext_lazy("高山族")
    LAHU = "24", gettext_lazy("拉祜族")
    SUI = "25", gettext_lazy("水族")
    DONGXIANG = "26", gettext_lazy("东乡族")
    NAXI = "27", gettext_lazy("纳西族")
    JINGPO = "28", gettext_lazy("景颇族")
    KIRGIZ = "29", gettext_lazy("柯尔克孜族")
    TU = "30", gettext_lazy("土族")
    DAUR = "31", gettext_lazy("达斡尔族")
    MULAO = "32", gettext_lazy("仫佬族")
    QIANG = "33", gettext_lazy("羌族")
    BLANG = "34", gettext_lazy("布朗族")
    SALAR = "35", gettext_lazy("撒拉族")
    MAONAN = "36", gettext_lazy("毛南族")
    GELAO = "37", gettext_lazy("仡佬族")
    XIBE = "38", gettext_lazy("锡伯族")
    ACHANG = "39", gettext_lazy("阿昌族")
    PUMI = "40", gettext_lazy("普米族")
    TAJIK = "41", gettext_lazy("塔吉克族")
    NU = "42", gettext_lazy("怒族")
    UZBEK = "43", gettext_lazy("乌孜别克族")
    RUSS = "44", gettext_lazy("俄罗斯族")
    EWENKI = "45", gettext_lazy("鄂温克族")
    DEANG = "46", gettext_lazy("德昂族")
    BONAN = "47", gettext_lazy("保安族")
    YUGUR = "48", gettext_lazy("裕固族")
    GIN = "49", gettext_lazy("京族")
    TATAR = "50", gettext_lazy("塔塔尔族")
    DERUNG = "51", gettext_lazy("独龙族")
    OROQEN = "52", gettext_lazy("鄂伦春族")
    HEZHEN = "53", gettext_lazy("赫哲族")
    MONBA = "54", gettext_lazy("门巴族")
    LHOBA = "55", gettext_lazy("珞巴族")
    JINO = "56", gettext_lazy("基诺族")
    FOREIGN_ORIGIN = "98", gettext_lazy("外国血统中国籍人士")

    @property
    def romanised(self) -> str:
        """Return the Roman-alphabet name (GB/T 3304's spelling for the 56 groups)."""
        return ETHNICITY_ROMANISED[self.value]


# The Roman spellings are the standard's own ("Zang", "Chosen", "Gin"), not English
# exonyms; 98 has none in the standard, so it gets a plain English description.
ETHNICITY_ROMANISED: Mapping[str, str] = {
    "01": "Han", "02": "Mongol", "03": "Hui", "04": "Zang", "05": "Uygur",
    "06": "Miao", "07": "Yi", "08": "Zhuang", "09": "Buyei", "10": "Chosen",
    "11": "Man", "12": "Dong", "13": "Yao", "14": "Bai", "15": "Tujia",
    "16": "Hani", "17": "Kazak", "18": "Dai", "19": "Li", "20": "Lisu",
    "21": "Va", "22": "She", "23": "Gaoshan", "24": "Lahu", "25": "Sui",
    "26": "Dongxiang", "27": "Naxi", "28": "Jingpo", "29": "Kirgiz", "30": "Tu",
    "31": "Daur", "32": "Mulao", "33": "Qiang", "34": "Blang", "35": "Salar",
    "36": "Maonan", "37": "Gelao", "38": "Xibe", "39": "Achang", "40": "Pumi",
    "41": "Tajik", "42": "Nu", "43": "Uzbek", "44": "Russ", "45": "Ewenki",
    "46": "Deang", "47": "Bonan", "48": "Yugur", "49": "Gin", "50": "Tatar",
    "51": "Derung", "52": "Oroqen", "53": "Hezhen", "54": "Monba", "55": "Lhoba",
    "56": "Jino", "98": "Chinese citizen of foreign origin",
}  # fmt: skip

# Names renamed before GB/T 3304-1991 that old records still carry (毛难族 became 毛南族
# in 1986, 崩龙族 became 德昂族 in 1985).
_ETHNICITY_FORMER_NAMES = {"毛难族": "36", "崩龙族": "46"}


def _ethnicity_of_code(text: str) -> Ethnicity | None:
    """Return the group whose code is ``text`` ("01" or "1"), or None."""
    if text.isascii() and text.isdigit() and len(text) <= 2:
        value = text.zfill(2)
        if value in Ethnicity.values:
            return Ethnicity(value)
    return None


@functools.cache
def _ethnicity_names() -> Mapping[str, str]:
    """Return ``{name: code}`` for Chinese full and short names and Roman spellings."""
    names: dict[str, str] = {}
    with translation.override("zh-hans"):
        chinese = {member.value: str(member.label) for member in Ethnicity}
    for code, name in [*chinese.items(), *((c, n) for n, c in _ETHNICITY_FORMER_NAMES.items())]:
        names[name] = code
        if name.endswith("族"):
            names[name.removesuffix("族")] = code
    for code, romanised in ETHNICITY_ROMANISED.items():
        if code != Ethnicity.FOREIGN_ORIGIN:
            names[romanised.casefold()] = code
    return names


def _unknown_ethnicity(value: str) -> UnknownCode:
    """Return the error for an ethnic group that is not in the table."""
    message = _("无法识别的民族：“%(value)s”。") % {"value": _shown(value)}
    return UnknownCode("ethnicity", message, code="unknown_ethnicity")


def ethnicity_label(code: str) -> str:
    """Return the name of the group with GB/T 3304 ``code`` in the current language."""
    member = _ethnicity_of_code(_clean(code))
    if member is None:
        raise _unknown_ethnicity(_clean(code))
    return str(member.label)


def parse_ethnicity(text: str) -> Ethnicity:
    """Return the group named by a code ("01", "1"), a name ("汉族", "汉") or a Roman spelling."""
    value = _clean(text)
    member = _ethnicity_of_code(value)
    if member is None:
        code = _ethnicity_names().get(value) or _ethnicity_names().get(value.casefold())
        if code is None:
            raise _unknown_ethnicity(value)
        member = Ethnicity(code)
    return member


# --- 国家和地区 (GB/T 2659 = ISO 3166-1) ------------------------------------------------

CHINA = "CHN"

# Mainland forms name the special administrative regions and Taiwan as part of China;
# pycountry's zh_CN catalogue says 香港, 澳门 and 中国台湾省, so these three are shown our way
# (the catalogue's names are still accepted when parsing).
_ZH_SHOWN = {"HKG": "中国香港", "MAC": "中国澳门", "TWN": "中国台湾"}
_ZH_ALIASES = {
    "中华人民共和国": "CHN",
    "中国大陆": "CHN",
    "中国内地": "CHN",
    "香港": "HKG",
    "香港特别行政区": "HKG",
    "中国香港特别行政区": "HKG",
    "中华人民共和国香港特别行政区": "HKG",
    "澳门": "MAC",
    "澳门特别行政区": "MAC",
    "中国澳门特别行政区": "MAC",
    "中华人民共和国澳门特别行政区": "MAC",
    "台湾": "TWN",
    "台湾省": "TWN",
    "中国台湾省": "TWN",
    "中國香港": "HKG",
    "中國澳門": "MAC",
    "中國台灣": "TWN",
}
_EN_ALIASES = {"macau": "MAC", "hong kong, china": "HKG", "macao, china": "MAC"}
_EN_ALIASES |= {"taiwan, china": "TWN", "prc": "CHN"}
# Shown right after China, in this order: they are where most non-mainland residents of a
# mainland community come from.
_FIRST = (CHINA, "HKG", "MAC", "TWN")

# GB 2312's level-1 hanzi are laid out in pinyin order, so their GB 2312 bytes sort Chinese
# names by pinyin without a pinyin table. Level-2 hanzi (sorted by radical) that occur in
# country names are replaced by a level-1 homophone for sorting only.
_SORT_AS = {"斐": "匪", "瑙": "脑", "梵": "饭", "汶": "文"}


@dataclass(frozen=True)
class Country:
    """One GB/T 2659 (ISO 3166-1) country or region."""

    alpha2: str
    alpha3: str
    numeric: str
    name_en: str
    name_zh: str

    def name(self, language: str | None = None) -> str:
        """Return the name in ``language`` (Chinese for ``zh*``, else English)."""
        return self.name_zh if _is_chinese(language) else self.name_en


def _is_chinese(language: str | None) -> bool:
    """Tell whether ``language`` (default: the active one) is a Chinese language code."""
    code = language or translation.get_language() or "zh-hans"
    return code.lower().startswith("zh")


def _fold(name: str) -> str:
    """Return ``name`` case-folded, without accents or surrounding spaces, for matching."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def pinyin_sort_key(name: str) -> bytes:
    """Return a key that sorts Chinese ``name`` in (approximate) pinyin order."""
    return "".join(_SORT_AS.get(c, c) for c in name).encode("gb18030", errors="replace")


@functools.cache
def countries() -> tuple[Country, ...]:
    """Return every GB/T 2659 country and region, read from pycountry once."""
    chinese = gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    return tuple(
        Country(
            alpha2=entry.alpha_2,
            alpha3=entry.alpha_3,
            numeric=entry.numeric,
            name_en=entry.name,
            name_zh=_ZH_SHOWN.get(entry.alpha_3) or chinese.gettext(entry.name),
        )
        for entry in pycountry.countries
    )


@functools.cache
def _countries_by_key() -> Mapping[str, Country]:
    """Return every country under each of its codes and folded names."""
    chinese = gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    by_alpha3 = {country.alpha3: country for country in countries()}
    keys: dict[str, Country] = {}
    for entry in pycountry.countries:
        country = by_alpha3[entry.alpha_3]
        keys[entry.alpha_2.casefold()] = keys[entry.alpha_3.casefold()] = country
        keys[entry.numeric] = country
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(entry, attribute, None)
            if name:
                keys[_fold(name)] = keys[_fold(chinese.gettext(name))] = country
        keys[_fold(country.name_zh)] = country
    for alias, alpha3 in (_ZH_ALIASES | _EN_ALIASES).items():
        keys[_fold(alias)] = by_alpha3[alpha3]
    return keys


@functools.cache
def _choices(chinese: bool) -> tuple[tuple[str, str], ...]:
    """Return ``(alpha3, name)`` pairs: China and its regions first, then by name."""
    language = "zh" if chinese else "en"
    by_alpha3 = {country.alpha3: country for country in countries()}
    first = [by_alpha3[alpha3] for alpha3 in _FIRST]
    rest = [country for country in countries() if country.alpha3 not in _FIRST]
    if chinese:
        rest.sort(key=lambda country: (pinyin_sort_key(country.name_zh), country.alpha3))
    else:
        rest.sort(key=lambda country: (_fold(country.name_en), country.alpha3))
    return tuple((country.alpha3, country.name(language)) for country in [*first, *rest])


def country_choices(language: str | None = None) -> tuple[tuple[str, str], ...]:
    """Return ``(alpha3, name)`` choices in ``language`` (default: the active one)."""
    return _choices(_is_chinese(language))


def _unknown_country(value: str) -> UnknownCode:
    """Return the error for a country or region that is not in the table."""
    message = _("无法识别的国家或地区：“%(value)s”。") % {"value": _shown(value)}
    return UnknownCode("country", message, code="unknown_country")


def get_country(alpha3: str) -> Country:
    """Return the country or region with ISO alpha-3 code ``alpha3`` (any case)."""
    value = _clean(alpha3)
    country = _countries_by_key().get(value.casefold()) if len(value) == 3 else None
    if country is None or country.alpha3 != value.upper():
        raise _unknown_country(value)
    return country


def country_name(alpha3: str, language: str | None = None) -> str:
    """Return the name of the country with code ``alpha3`` in ``language``."""
    return get_country(alpha3).name(language)


def parse_country(text: str) -> str:
    """Return the alpha-3 code of a country given by code or by English or Chinese name."""
    value = _clean(text)
    key = value.zfill(3) if value.isascii() and value.isdigit() else _fold(value)
    country = _countries_by_key().get(key) if value else None
    if country is None:
        raise _unknown_country(value)
    return country.alpha3


# --- 性别 (GB/T 2261.1) ----------------------------------------------------------------

_SEX_WORDS = {
    "男": Sex.MALE,
    "男性": Sex.MALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "女": Sex.FEMALE,
    "女性": Sex.FEMALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "未知的性别": Sex.UNKNOWN,
    "未知": Sex.UNKNOWN,
    "未说明的性别": Sex.UNSTATED,
    "未说明": Sex.UNSTATED,
}


def parse_sex(text: str) -> Sex:
    """Return the GB/T 2261.1 sex given by code ("1"), "男"/"女", "M"/"F" or "male"/"female"."""
    value = _clean(text)
    if value in Sex.values:
        return Sex(value)
    sex = _SEX_WORDS.get(value.casefold())
    if sex is None:
        message = _("无法识别的性别：“%(value)s”。") % {"value": _shown(value)}
        raise UnknownCode("sex", message, code="unknown_sex")
    return sex
