"""Code tables: GB/T 3304 ethnic groups, GB/T 2659 countries and regions, GB/T 2261.1 sex."""

from __future__ import annotations

import pytest
from django.utils import translation

from linli.core import errors
from linli.people.choices import Sex
from linli.people.codes import (
    Ethnicity,
    UnknownCode,
    countries,
    country_choices,
    country_name,
    ethnicity_label,
    get_country,
    parse_country,
    parse_ethnicity,
    parse_sex,
    pinyin_sort_key,
)

pytestmark = pytest.mark.db_independent

# The 56 groups in GB/T 3304 code order, without 族, as a check on the table's numbering.
GB_3304_ORDER = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜",
    "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳",
    "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
    "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip


# --- 民族 ------------------------------------------------------------------------------


def test_the_56_groups_are_numbered_as_in_the_standard() -> None:
    groups = [e for e in Ethnicity if e != Ethnicity.FOREIGN_ORIGIN]
    assert [e.value for e in groups] == [f"{n:02d}" for n in range(1, 57)]
    assert [str(e.label) for e in groups] == [f"{name}族" for name in GB_3304_ORDER]
    assert Ethnicity.FOREIGN_ORIGIN.value == "98"
    assert len(Ethnicity.choices) == 57


@pytest.mark.parametrize(
    ("code", "romanised"),
    [("01", "Han"), ("04", "Zang"), ("10", "Chosen"), ("21", "Va"), ("44", "Russ"),
     ("46", "Deang"), ("49", "Gin"), ("56", "Jino")],
)  # fmt: skip
def test_every_group_has_its_roman_spelling(code: str, romanised: str) -> None:
    assert Ethnicity(code).romanised == romanised
    assert all(e.romanised for e in Ethnicity)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("01", "01"),
        ("1", "01"),
        (" 8 ", "08"),
        ("０４", "04"),  # full-width digits from an Excel sheet
        ("56", "56"),
        ("98", "98"),
        ("汉族", "01"),
        ("汉", "01"),
        ("蒙古族", "02"),
        ("蒙古", "02"),
        ("土族", "30"),
        ("土", "30"),
        ("土家", "15"),
        ("柯尔克孜族", "29"),
        ("外国血统中国籍人士", "98"),
        ("毛难族", "36"),  # former name, renamed 毛南族 in 1986
        ("崩龙", "46"),  # former name of 德昂族
        ("Han", "01"),
        ("zang", "04"),
        ("UYGUR", "05"),
    ],
)
def test_parse_ethnicity_accepts_codes_and_names(text: str, code: str) -> None:
    assert parse_ethnicity(text) == code
    assert isinstance(parse_ethnicity(text), Ethnicity)


@pytest.mark.parametrize(
    "text",
    ["", "  ", "0", "00", "57", "97", "99", "001", "-1", "汉人", "族", "蒙", "汉族人", "Tibetan",
     "Klingon", "1.0"],
)  # fmt: skip
def test_parse_ethnicity_refuses_what_is_not_in_the_table(text: str) -> None:
    with pytest.raises(UnknownCode) as caught:
        parse_ethnicity(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, errors.ValidationFailed)
    assert error.code == "unknown_ethnicity"
    assert list(error.details) == ["ethnicity"]
    assert str(error).startswith("无法识别的民族")


def test_error_message_quotes_the_value_but_not_all_of_a_long_one() -> None:
    with pytest.raises(UnknownCode, match="“火星族”"):
        parse_ethnicity("火星族")
    with pytest.raises(UnknownCode) as caught:
        parse_ethnicity("x" * 500)
    assert len(str(caught.value)) < 60


def test_ethnicity_label_takes_a_code() -> None:
    assert ethnicity_label("01") == "汉族"
    assert ethnicity_label("1") == "汉族"
    assert ethnicity_label("98") == "外国血统中国籍人士"
    with pytest.raises(UnknownCode):
        ethnicity_label("汉族")
    with pytest.raises(UnknownCode):
        ethnicity_label("57")


# --- 国家和地区 --------------------------------------------------------------------------


def test_the_table_is_iso_3166_and_read_once() -> None:
    table = countries()
    assert table is countries()
    assert len(table) >= 249
    assert len({c.alpha3 for c in table}) == len(table)
    assert all(len(c.alpha2) == 2 and len(c.alpha3) == 3 and len(c.numeric) == 3 for c in table)
    assert all(c.name_en and c.name_zh and c.name_zh != c.name_en for c in table)


def test_every_code_and_name_parses_back_to_its_own_country() -> None:
    # Also shows that no name is shadowed by another country's code or name.
    for country in countries():
        for text in (country.alpha2, country.alpha3, country.numeric, country.name_en):
            assert parse_country(text) == country.alpha3, text
        assert parse_country(country.name_zh) == country.alpha3, country.name_zh
        assert parse_country(country.alpha3.lower()) == country.alpha3


@pytest.mark.parametrize(
    ("text", "alpha3"),
    [
        ("中国", "CHN"),
        ("CHN", "CHN"),
        ("CN", "CHN"),
        ("cn", "CHN"),
        ("156", "CHN"),
        ("ＣＮ", "CHN"),
        (" China ", "CHN"),
        ("People's Republic of China", "CHN"),
        ("中华人民共和国", "CHN"),
        ("中国香港", "HKG"),
        ("香港", "HKG"),
        ("中国香港特别行政区", "HKG"),
        ("Hong Kong", "HKG"),
        ("中国澳门", "MAC"),
        ("澳门", "MAC"),
        ("Macau", "MAC"),
        ("中国台湾", "TWN"),
        ("台湾", "TWN"),
        ("中国台湾省", "TWN"),
        ("Taiwan", "TWN"),
        ("36", "AUS"),  # numeric codes keep their leading zeros: 036
        ("036", "AUS"),
        ("美国", "USA"),
        ("United States of America", "USA"),
        ("South Korea", "KOR"),
        ("大韩民国", "KOR"),
        ("north korea", "PRK"),
        ("Côte d'Ivoire", "CIV"),
        ("cote d'ivoire", "CIV"),
        ("Åland Islands", "ALA"),
    ],
)
def test_parse_country_accepts_codes_and_names(text: str, alpha3: str) -> None:
    assert parse_country(text) == alpha3


@pytest.mark.parametrize(
    "text", ["", " ", "XX", "ZZZ", "999", "0", "1560", "Narnia", "中", "中国人", "Chinese"]
)
def test_parse_country_refuses_what_is_not_in_the_table(text: str) -> None:
    with pytest.raises(UnknownCode) as caught:
        parse_country(text)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "unknown_country"
    assert list(caught.value.details) == ["country"]
    assert str(caught.value).startswith("无法识别的国家或地区")


def test_country_name_in_either_language() -> None:
    assert country_name("CHN", "zh-hans") == "中国"
    assert country_name("chn", "en") == "China"
    assert country_name("HKG", "zh-hans") == "中国香港"
    assert country_name("MAC", "zh") == "中国澳门"
    assert country_name("TWN", "zh-hans") == "中国台湾"
    assert country_name("DEU", "zh-hans") == "德国"
    assert country_name("DEU", "en") == "Germany"
    assert get_country("FRA").alpha2 == "FR"


@pytest.mark.parametrize("text", ["CN", "156", "中国", "XXX", ""])
def test_country_name_wants_an_alpha3_code(text: str) -> None:
    with pytest.raises(UnknownCode):
        country_name(text, "zh-hans")


def test_country_name_follows_the_active_language() -> None:
    with translation.override("en"):
        assert country_name("JPN") == "Japan"
        assert country_choices()[0] == ("CHN", "China")
    with translation.override("zh-hans"):
        assert country_name("JPN") == "日本"
        assert country_choices()[0] == ("CHN", "中国")


def test_choices_put_china_and_its_regions_first() -> None:
    for language in ("zh-hans", "en"):
        choices = country_choices(language)
        assert [code for code, _ in choices[:4]] == ["CHN", "HKG", "MAC", "TWN"]
        assert sorted(code for code, _ in choices) == sorted(c.alpha3 for c in countries())


def test_chinese_choices_are_in_pinyin_order() -> None:
    names = [name for _, name in country_choices("zh-hans")[4:]]
    expected = ["阿富汗", "巴西", "大韩民国", "德国", "东帝汶", "俄罗斯", "法国", "梵蒂冈",
                "斐济", "瑙鲁", "日本", "越南", "赞比亚", "智利"]  # fmt: skip
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions)


def test_every_hanzi_in_a_country_name_sorts_by_pinyin() -> None:
    # GB 2312 level-1 hanzi (0xB0A1-0xD7F9) are in pinyin order; a name with any other hanzi
    # would sort out of place, so a pycountry update that adds one must extend the mapping.
    for country in countries():
        for char in country.name_zh:
            if "\u4e00" <= char <= "\u9fff":
                key = pinyin_sort_key(char)
                assert len(key) == 2 and b"\xb0\xa1" <= key <= b"\xd7\xf9", (country, char)


def test_english_choices_are_in_alphabetical_order_ignoring_accents() -> None:
    names = [name for _, name in country_choices("en")[4:]]
    assert names.index("Afghanistan") < names.index("Åland Islands") < names.index("Albania")
    assert names.index("Zimbabwe") == len(names) - 1


# --- 性别 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sex"),
    [
        ("1", Sex.MALE),
        ("2", Sex.FEMALE),
        ("0", Sex.UNKNOWN),
        ("9", Sex.UNSTATED),
        (" 1 ", Sex.MALE),
        ("男", Sex.MALE),
        ("女", Sex.FEMALE),
        ("男性", Sex.MALE),
        ("女性", Sex.FEMALE),
        ("M", Sex.MALE),
        ("m", Sex.MALE),
        ("F", Sex.FEMALE),
        ("f", Sex.FEMALE),
        ("male", Sex.MALE),
        ("Male", Sex.MALE),
        ("FEMALE", Sex.FEMALE),
        ("Ｆ", Sex.FEMALE),
        ("未知的性别", Sex.UNKNOWN),
        ("未说明的性别", Sex.UNSTATED),
    ],
)
def test_parse_sex_accepts_codes_and_words(text: str, sex: Sex) -> None:
    assert parse_sex(text) is sex


@pytest.mark.parametrize("text", ["", "3", "01", "x", "man", "woman", "男女", "boy", "fm"])
def test_parse_sex_refuses_anything_else(text: str) -> None:
    with pytest.raises(UnknownCode) as caught:
        parse_sex(text)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "unknown_sex"
    assert list(caught.value.details) == ["sex"]
