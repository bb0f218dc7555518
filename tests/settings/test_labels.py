"""The trait dictionary: built-in names, the brand's over them, and what a name must have."""

from __future__ import annotations

import pytest

from siyu.core.db import unit_of_work
from siyu.core.errors import InvalidInput, NotFound
from siyu.settings import labels
from tests.helpers import identify, post_batch


def test_common_traits_and_values_have_chinese_and_english_names():
    names = labels.BUILT_IN
    assert names.trait_name("gender", "zh-CN") == "性别"
    assert names.trait_name("gender", "en") == "Gender"
    assert names.trait_value("female", "gender", "zh-CN") == "女"
    assert names.trait_value("Male", "gender", "zh-CN") == "男"
    assert names.trait_value(2, "gender", "en") == "Female"  # WeCom's gender code
    assert names.trait_value("unknown", "gender", "zh-CN") == "未知"
    assert names.trait_name("city", "zh-CN") == "城市"
    assert names.trait_name("birthday", "zh-CN") == "生日"


def test_trait_keys_match_however_a_system_spells_them():
    names = labels.BUILT_IN
    for spelling in ("member_id", "memberId", "Member ID", "member-id"):
        assert names.trait_name(spelling, "zh-CN") == "会员号", spelling


def test_unnamed_traits_and_values_show_as_sent():
    names = labels.BUILT_IN
    assert names.trait_name("favourite_colour", "zh-CN") == "favourite_colour"
    assert names.trait_value("武汉", "city", "zh-CN") == "武汉"
    assert names.trait_value(True, "vip", "zh-CN") == "是"
    assert names.trait_value(None, "city", "zh-CN") == "–"
    assert names.trait_value(["a", "b"], "hobbies", "zh-CN") == '["a", "b"]'


def test_the_brands_names_win_over_the_built_in_ones(session):
    labels.save_label(session, "gender", "female", "女士", "Ms")
    labels.save_label(session, "shoe_size", "", "鞋码", "Shoe size")
    names = labels.dictionary(session)
    assert names.trait_value("female", "gender", "zh-CN") == "女士"
    assert names.trait_value("female", "gender", "en") == "Ms"
    assert names.trait_name("shoe_size", "zh-CN") == "鞋码"
    assert names.trait_value("male", "gender", "zh-CN") == "男"  # the others stay


def test_naming_again_renames_and_forgetting_brings_the_built_in_back(session):
    first = labels.save_label(session, "gender", "", "性別", "")
    again = labels.save_label(session, " gender ", "", "客户性别", "Sex")
    assert again.id == first.id
    assert labels.dictionary(session).trait_name("gender", "zh-CN") == "客户性别"
    labels.remove_label(session, again.id)
    assert labels.dictionary(session).trait_name("gender", "zh-CN") == "性别"
    with pytest.raises(NotFound):
        labels.remove_label(session, again.id)


@pytest.mark.parametrize(
    ("trait", "value", "zh", "field"),
    [("", "", "性别", "trait"), ("gender", "", "  ", "zh"), ("x" * 65, "", "名", "trait")],
)
def test_a_name_without_what_it_needs_is_refused_naming_the_field(session, trait, value, zh, field):
    with pytest.raises(InvalidInput) as refused:
        labels.save_label(session, trait, value, zh, "")
    assert refused.value.field == field


def test_the_dictionary_lists_built_in_names_and_the_brands(session):
    labels.save_label(session, "gender", "female", "女士", "Ms")
    rows = {(e.trait, e.value): e for e in labels.entries(session)}
    assert rows[("gender", "female")].label.zh == "女士" and rows[("gender", "female")].brand_id
    assert rows[("city", "")].brand_id is None


def test_unnamed_traits_are_those_customers_carry_without_a_name(client, write_key):
    traits = {"name": "王芳", "gender": "female", "shoe_size": "37"}
    assert post_batch(client, write_key, [identify("u-1", traits)]).status_code == 200
    with unit_of_work() as s:
        assert labels.unnamed_traits(s) == ["shoe_size"]
