"""Licence plates (GA 36): normalising what people type, and which plates are accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.core import errors
from linli.people.vehicles import (
    AUTHORITY_LETTERS,
    PROVINCES,
    SERIAL_CHARACTERS,
    SPECIAL_SUFFIXES,
    InvalidPlate,
    Plate,
    PlateKind,
    normalise_plate,
    parse_plate,
)

pytestmark = pytest.mark.db_independent


def test_the_alphabets() -> None:
    assert len(PROVINCES) == len(set(PROVINCES)) == 31
    assert len(AUTHORITY_LETTERS) == 24
    assert "I" not in AUTHORITY_LETTERS and "O" not in AUTHORITY_LETTERS
    assert len(SERIAL_CHARACTERS) == 34


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("京A12345", "京A12345"),
        ("京a12345", "京A12345"),
        ("京A·12345", "京A12345"),
        ("京A•12345", "京A12345"),
        ("京A.12345", "京A12345"),
        ("京A-12345", "京A12345"),
        ("京A—12345", "京A12345"),
        (" 京 A 1 2 3 4 5 ", "京A12345"),
        ("京A\t12345\n", "京A12345"),
        ("京Ａ１２３４５", "京A12345"),
        ("京ａ．１２３４５", "京A12345"),
        ("京Ａ\u300012345", "京A12345"),
        ("粤z1234港", "粤Z1234港"),
        ("", ""),
    ],
)
def test_normalise_plate(text: str, normalised: str) -> None:
    assert normalise_plate(text) == normalised


VALID = [
    # text, province, authority, kind, special
    ("京A12345", "京", "A", "ordinary", ""),
    ("沪B·6C8D9", "沪", "B", "ordinary", ""),
    ("粤BZZ999", "粤", "B", "ordinary", ""),
    ("琼E00001", "琼", "E", "ordinary", ""),
    ("藏Z9A9A9", "藏", "Z", "ordinary", ""),
    ("蒙H1234X", "蒙", "H", "ordinary", ""),
    ("京ad12345", "京", "A", "new_energy", ""),  # small, battery electric (D)
    ("苏EF12345", "苏", "E", "new_energy", ""),  # small, other new energy (F)
    ("粤BDA1234", "粤", "B", "new_energy", ""),  # the second may be a letter
    ("粤BA12345", "粤", "B", "new_energy", ""),  # 2021 extension: A B C E for battery electric
    ("浙AC99999", "浙", "A", "new_energy", ""),
    ("川AK00000", "川", "A", "new_energy", ""),  # 2021 extension: G H J K for other
    ("鲁BJZ1234", "鲁", "B", "new_energy", ""),
    ("京ADA1234", "京", "A", "new_energy", ""),
    ("京A12345D", "京", "A", "new_energy", ""),  # large: D last
    ("渝B00000F", "渝", "B", "new_energy", ""),  # large: F last
    ("京A1234警", "京", "A", "special", "警"),
    ("冀F0001警", "冀", "F", "special", "警"),
    ("辽B123A学", "辽", "B", "special", "学"),
    ("黑A1234挂", "黑", "A", "special", "挂"),
    ("沪A0123领", "沪", "A", "special", "领"),
    ("粤Z1234港", "粤", "Z", "special", "港"),
    ("粤Z·A123澳", "粤", "Z", "special", "澳"),
    ("使014578", None, None, "special", "使"),
    ("使 224·001", None, None, "special", "使"),
]


@pytest.mark.parametrize(("text", "province", "authority", "kind", "special"), VALID)
def test_valid_plates(
    text: str, province: str | None, authority: str | None, kind: PlateKind, special: str
) -> None:
    plate = parse_plate(text)
    assert plate == Plate(normalise_plate(text), province, authority, kind, special)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "plate_format"),
        ("   ", "plate_format"),
        ("A12345", "plate_province"),  # no province
        ("港A12345", "plate_province"),  # not a mainland province
        ("台A12345", "plate_province"),
        ("12345京A", "plate_province"),
        ("WJ京12345", "plate_province"),  # armed police: not GA 36
        ("京", "plate_authority"),
        ("京112345", "plate_authority"),  # second character is a digit
        ("京京12345", "plate_authority"),
        ("京I12345", "plate_letter_i_o"),  # I is never an authority letter
        ("京O12345", "plate_letter_i_o"),
        ("京A1234O", "plate_letter_i_o"),  # O typed for 0
        ("京AI2345", "plate_letter_i_o"),
        ("京AD1234I", "plate_letter_i_o"),
        ("京A", "plate_format"),
        ("京A1234", "plate_format"),  # one short
        ("京A123456", "plate_new_energy"),  # six digits: neither small nor large
        ("京A1234567", "plate_format"),  # too long
        ("京A12*45", "plate_format"),
        ("京A12三45", "plate_format"),
        ("京AL12345", "plate_new_energy"),  # L is not an energy letter
        ("京AZ12345", "plate_new_energy"),
        ("京AD1234F", "plate_new_energy"),  # small needs four digits at the end
        ("京AD1A234", "plate_new_energy"),  # ... so the third is a digit
        ("京A1234AD", "plate_new_energy"),  # large needs five digits first
        ("京A12345A", "plate_new_energy"),  # large ends in D or F only
        ("京A12345E", "plate_new_energy"),
        ("京A123警", "plate_format"),  # police: four serial characters
        ("京A12345警", "plate_format"),
        ("京A1234警警", "plate_format"),
        ("京A1234港", "plate_hk_macao"),  # 港 and 澳 only after 粤Z
        ("粤B1234澳", "plate_hk_macao"),
        ("京A1234试", "plate_format"),  # not accepted: test plates
        ("京A1234应急", "plate_format"),
        ("使12345", "plate_format"),  # embassy: six digits
        ("使1234567", "plate_format"),
        ("使A12345", "plate_format"),
        ("京A使1234", "plate_format"),
    ],
)
def test_invalid_plates(text: str, code: str) -> None:
    with pytest.raises(InvalidPlate) as caught:
        parse_plate(text)
    error = caught.value
    assert error.code == code
    assert isinstance(error, ValueError)
    assert isinstance(error, errors.ValidationFailed)
    assert error.details == {"plate": [error.message]}
    assert str(error).endswith("。")


def test_the_message_is_the_chinese_source_string() -> None:
    with pytest.raises(InvalidPlate) as caught:
        parse_plate("京A1234")
    assert str(caught.value) == "车牌号码格式错误。"


def test_display_puts_the_dot_after_the_authority() -> None:
    assert parse_plate("京a 12345").display == "京A·12345"
    assert parse_plate("京AD12345").display == "京A·D12345"
    assert parse_plate("粤Z1234港").display == "粤Z·1234港"
    assert parse_plate("使014578").display == "使014578"


def plate_like() -> st.SearchStrategy[str]:
    """Strings built from plate parts, so that the fuzzing reaches the deeper rules."""
    part = st.sampled_from(
        [*PROVINCES, *SERIAL_CHARACTERS, *SPECIAL_SUFFIXES, "使", "I", "O", "i", "o", "·", " ",
         "-", "Ａ", "１", "ｄ", "试", "\u3000", "．"]
    )  # fmt: skip
    return st.lists(part, max_size=10).map("".join)


@given(st.one_of(st.text(), plate_like()))
def test_normalise_plate_is_idempotent(text: str) -> None:
    once = normalise_plate(text)
    assert normalise_plate(once) == once


@given(st.one_of(st.text(), plate_like()))
def test_parse_plate_raises_only_invalid_plate(text: str) -> None:
    try:
        plate = parse_plate(text)
    except InvalidPlate:
        return
    assert plate.number == normalise_plate(text)
    assert parse_plate(plate.number) == plate
    assert parse_plate(plate.display) == plate
    assert len(plate.number) in (7, 8)


def chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    """``n`` characters drawn from ``alphabet``."""
    return st.text(st.sampled_from(alphabet), min_size=n, max_size=n)


DIGITS = "0123456789"
PREFIX = st.tuples(st.sampled_from(PROVINCES), st.sampled_from(AUTHORITY_LETTERS)).map("".join)
BUILT: dict[PlateKind, st.SearchStrategy[str]] = {
    "ordinary": st.tuples(PREFIX, chars(SERIAL_CHARACTERS, 5)).map("".join),
    "new_energy": st.one_of(
        st.tuples(PREFIX, chars("ABCDEFGHJK", 1), chars(SERIAL_CHARACTERS, 1), chars(DIGITS, 4)),
        st.tuples(PREFIX, chars(DIGITS, 5), chars("DF", 1)),
    ).map("".join),
    "special": st.one_of(
        st.tuples(PREFIX, chars(SERIAL_CHARACTERS, 4), chars("警学挂领", 1)),
        st.tuples(st.just("粤Z"), chars(SERIAL_CHARACTERS, 4), chars("港澳", 1)),
    ).map("".join),
}


@pytest.mark.parametrize("kind", sorted(BUILT))
@given(data=st.data())
def test_every_plate_built_by_the_rules_is_accepted(kind: PlateKind, data: st.DataObject) -> None:
    number = data.draw(BUILT[kind])
    plate = parse_plate(number)
    assert (plate.number, plate.kind, plate.province) == (number, kind, number[0])
    typed = data.draw(st.sampled_from([number.lower(), " ".join(number), plate.display]))
    assert parse_plate(typed) == plate
