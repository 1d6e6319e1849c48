"""Form definitions, the bundle merge and exact value checks (pure; hall/config/forms.py, hall/forms.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hall.config import ConfigError, load_config, parse_config
from hall.config.forms import FormField
from hall.forms import check_form, check_value, filled_count, merged_form, render_filled
from hall.idcodes import check_id_number, check_mobile, check_uscc, parse_date

from .conftest import small_raw

EXAMPLE = Path(__file__).parent.parent / "config" / "hall.example.yaml"
TODAY = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def example():
    return load_config(EXAMPLE)


def with_forms(forms: dict) -> dict:
    raw = small_raw()
    raw["forms"] = forms
    return raw


FIELDS = [
    {"id": "name", "label": {"zh": "姓名", "en": "Name"}, "type": "name", "profile": "name"},
    {"id": "id_number", "label": {"zh": "身份证号", "en": "ID"}, "type": "id_number", "profile": "id_number"},
    {"id": "phone", "label": {"zh": "电话", "en": "Phone"}, "type": "phone", "profile": "phone"},
    {"id": "shop", "label": {"zh": "店名", "en": "Shop"}, "type": "company"},
    {"id": "kind", "label": {"zh": "类别", "en": "Kind"}, "type": "choice",
     "choices": [{"id": "a", "label": {"zh": "甲", "en": "A"}}, {"id": "b", "label": {"zh": "乙", "en": "B"}}]},
]


# ------------------------------------------------------------ the schema --

def test_example_hall_has_forms_for_every_bundle_matter_and_ten_more(example):
    with_form = {f.matter for f in example.forms.forms}
    in_bundles = {m for b in example.bundles for m in b.matters}
    assert in_bundles <= with_form
    assert len(with_form - in_bundles) >= 10
    for b in example.bundles:
        assert merged_form(example, b.id) is not None


@pytest.mark.parametrize("forms, path, reason", [
    ({"fields": FIELDS, "forms": [{"matter": "M1", "fields": ["name", "phone", "name"]}]},
     "forms.forms[0]", "field ids twice: ['name']"),
    ({"fields": [*FIELDS, {"id": "x", "label": {"zh": "某", "en": "x"}, "type": "text", "profile": "shoe_size"}]},
     "forms.fields[5]", "unknown profile key 'shoe_size'"),
    ({"fields": [*FIELDS, {"id": "x", "label": {"zh": "某", "en": "x"}, "type": "text", "profile": "phone"}]},
     "forms.fields[5]", "profile key phone needs type phone"),
    ({"fields": [*FIELDS, {"id": "x", "label": {"zh": "某", "en": "x"}, "type": "choice", "choices": []}]},
     "forms.fields[5]", "a choice field needs choices"),
    ({"fields": FIELDS, "forms": [{"matter": "M1", "fields": ["name", "nope"]}]},
     "forms", "unknown fields ['nope']"),
    ({"fields": FIELDS, "forms": [{"matter": "M1", "fields": ["name"], "optional": ["phone"]}]},
     "forms.forms[0]", "optional fields not on the form: ['phone']"),
    ({"fields": [*FIELDS, FIELDS[0]]}, "forms", "duplicate field ids"),
    ({"fields": FIELDS, "forms": [{"matter": "M999", "fields": ["name"]}]},
     "forms.forms[0].matter", "unknown matter 'M999'"),
    ({"fields": FIELDS, "forms": [{"matter": "B1", "fields": ["name"]}]},
     "forms.forms[0].matter", "unknown matter 'B1'"),
    ({"fields": FIELDS, "colour": "red"}, "forms.colour", "Extra inputs are not permitted"),
])
def test_bad_form_definitions_are_refused_with_path_and_reason(forms, path, reason):
    with pytest.raises(ConfigError) as e:
        parse_config(with_forms(forms))
    assert any(p == path and reason in r for p, r in e.value.problems), e.value.problems


# -------------------------------------------------------------- merging --

def test_a_bundle_form_has_each_field_once_in_a_stable_order_and_counts_what_merging_saved():
    cfg = parse_config(with_forms({"fields": FIELDS, "forms": [
        {"matter": "M1", "fields": ["name", "id_number", "shop"], "optional": ["shop"]},
        {"matter": "M2", "fields": ["phone", "name", "shop", "kind"]},
    ]}))
    assert list(cfg.bundle("B1").matters) == ["M1", "M2"]
    got = merged_form(cfg, "B1")
    assert got.ids == ["name", "id_number", "shop", "phone", "kind"]   # first place of each, matters in order
    assert got.saved == 2                                               # name and shop asked once
    assert got.slot("shop").required                                    # optional in M1, required in M2
    assert not merged_form(cfg, "M1").slot("shop").required
    assert merged_form(cfg, "M1").saved == 0
    assert merged_form(cfg, "B1") == got                                # stable: same input, same form
    assert merged_form(cfg, "M3") is None


def test_example_bundle_merges_and_saves_fields(example):
    f = merged_form(example, "B02")
    assert f.ids == ["name", "id_number", "phone", "address", "property_cert", "property_address", "floor_area",
                     "price", "contract_date", "seller_name", "seller_id", "gender", "employer", "loan_amount",
                     "loan_years", "lender"]
    assert f.saved == 20                                        # 36 fields listed by 4 matters, 16 asked
    assert len(f.ids) == len(set(f.ids))
    b01 = merged_form(example, "B01")
    assert not b01.slot("company_uscc").required                # optional in every matter that has it
    assert b01.slot("name").required
    assert merged_form(example, "M069") is None                 # no form: nothing to fill


# ---------------------------------------------------------- value checks --

@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x", "33010619900101123X",
                                   "440304200002290014"])
def test_valid_id_numbers(value):
    assert check_id_number(value, TODAY) is None


@pytest.mark.parametrize("value, reason", [
    ("110105194912310021", "check digit"),          # the GB 11643 example with a wrong last digit
    ("11010519491231002", "18 characters"),
    ("11010519491331002X", "birth date"),           # month 13
    ("11010519490230002X", "birth date"),           # 30 February
    ("110105203001010018", "impossible"),           # born in the future
    ("01010519491231002X", "17 digits"),            # no region starts with 0
    ("1101051949123100XX", "17 digits"),
])
def test_invalid_id_numbers(value, reason):
    assert reason in (check_id_number(value, TODAY) or "")


@pytest.mark.parametrize("value", ["9144030071526726XG", "91330100799655058B", "91110000600037341L",
                                   "91350100M000100Y43"])
def test_valid_unified_social_credit_codes(value):
    assert check_uscc(value) is None


@pytest.mark.parametrize("value, reason", [
    ("9144030071526726XA", "check character"),
    ("91330100799655058C", "check character"),
    ("9133010079965505", "18 characters"),
    ("91330100799655O58B", "capitals except"),      # letter O is not in the alphabet
    ("91ABCDEF799655058B", "capitals except"),      # the region code is six digits
])
def test_invalid_unified_social_credit_codes(value, reason):
    assert reason in (check_uscc(value) or "")


@pytest.mark.parametrize("value, ok", [("13800138000", True), ("19912345678", True), ("12800138000", False),
                                       ("1380013800", False), ("138001380001", False), ("+8613800138000", False),
                                       ("138-0013-8000", False)])
def test_mobile_numbers(value, ok):
    assert (check_mobile(value) is None) == ok


@pytest.mark.parametrize("value, ok", [("2026-02-28", True), ("2024-02-29", True), ("2026-02-29", False),
                                       ("2026-13-01", False), ("2026/02/01", False), ("20260201", False),
                                       ("2026-2-1", False)])
def test_dates(value, ok):
    assert (parse_date(value) is not None) == ok


def test_field_types_and_limits():
    date_past = FormField(id="d", label={"zh": "日", "en": "d"}, type="date", dates="past")
    assert check_value(date_past, "2026-11-21", TODAY) is None
    assert "future" in check_value(date_past, "2026-11-22", TODAY)
    num = FormField(id="n", label={"zh": "数", "en": "n"}, type="number", minimum=1, maximum=30)
    assert check_value(num, "30", TODAY) is None
    assert "above 30" in check_value(num, "31", TODAY)
    assert "not a number" in check_value(num, "nan", TODAY)
    name = FormField(id="n", label={"zh": "名", "en": "n"}, type="name")
    for good in ("张三", "欧阳娜娜", "阿依古丽·买买提", "Li Lei"):
        assert check_value(name, good) is None, good
    for bad in ("张", "张3", "<script>", "12345"):
        assert check_value(name, bad) is not None, bad
    text = FormField(id="t", label={"zh": "文", "en": "t"}, type="text", max_length=5)
    assert "longer than 5" in check_value(text, "123456")


def test_check_form_names_every_bad_field_in_form_order(example):
    form = merged_form(example, "B02")
    values = {"name": "张三", "id_number": "110105194912310021", "phone": "1380013800",
              "price": "abc", "colour": "red"}
    problems = check_form(form, values, TODAY)
    ids = [p[0] for p in problems]
    assert ids[0] == "colour"                       # not on the form
    assert ("id_number", "the ID number's check digit is wrong") in problems
    assert ("phone", "a mobile number is 11 digits starting with 13–19") in problems
    assert ("price", "not a number") in problems
    assert ("address", "required") in problems
    assert "gender" in ids                          # required by M038
    assert ids.index("id_number") < ids.index("phone") < ids.index("address") < ids.index("price")


def test_filled_count_and_render_for_the_clerk(example):
    form = merged_form(example, "M027")
    values = {"name": "张三", "id_number": "11010519491231002X", "gender": "male"}
    assert filled_count(form, values) == (3, 5)
    rows = render_filled(example, "M027", values, "zh-CN")
    assert rows == [("name", "申请人姓名", "张三"), ("id_number", "公民身份号码", "11010519491231002X"),
                    ("phone", "联系电话", ""), ("gender", "性别", "男"), ("household_address", "户籍地址", "")]
    assert render_filled(example, "M027", values, "en")[3] == ("gender", "Sex", "Male")
