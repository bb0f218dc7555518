"""The trait dictionary (属性字典): how customer traits and their values read to people.

Siyu names the common traits (gender, city, birthday, …) and their coded values (gender
`female` → 女) in both of the console's languages; the brand renames any of them, or names its own
traits and values, in Settings (table trait_labels), and its names win. A trait or value nobody
named shows as it was sent. Keys match loosely (`firstName`, `first_name` and `First Name` are one
trait) and values ignore case, as imports and SDKs spell them differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.customers.models import Customer
from siyu.settings.models import TraitLabel

TRAIT_MAX, VALUE_MAX, NAME_MAX = 64, 200, 100


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def shown(self, locale: str) -> str:
        return (self.en or self.zh) if locale == "en" else (self.zh or self.en)


# Segment's identify traits, and those a Chinese brand's CRM and WeCom carry.
BUILT_IN_TRAITS: dict[str, Label] = {
    "name": Label("姓名", "Name"),
    "first_name": Label("名", "First name"),
    "last_name": Label("姓", "Last name"),
    "nickname": Label("昵称", "Nickname"),
    "username": Label("用户名", "User name"),
    "phone": Label("手机号", "Phone"),
    "mobile": Label("手机号", "Mobile"),
    "email": Label("邮箱", "Email"),
    "gender": Label("性别", "Gender"),
    "birthday": Label("生日", "Birthday"),
    "age": Label("年龄", "Age"),
    "city": Label("城市", "City"),
    "province": Label("省份", "Province"),
    "country": Label("国家", "Country"),
    "address": Label("地址", "Address"),
    "company": Label("公司", "Company"),
    "title": Label("职位", "Job title"),
    "website": Label("网站", "Website"),
    "avatar": Label("头像", "Avatar"),
    "description": Label("简介", "Description"),
    "created_at": Label("创建时间", "Created at"),
    "member_id": Label("会员号", "Member ID"),
    "member_level": Label("会员等级", "Member level"),
    "level": Label("等级", "Level"),
    "points": Label("积分", "Points"),
    "vip": Label("VIP", "VIP"),
    "source": Label("来源", "Source"),
    "remark": Label("备注", "Remark"),
    "wechat": Label("微信号", "WeChat ID"),
    "unionid": Label("微信 UnionID", "WeChat UnionID"),
    "openid": Label("公众号 OpenID", "Official account OpenID"),
    "external_userid": Label("企微外部联系人 ID", "WeCom external contact ID"),
    "marital_status": Label("婚姻状况", "Marital status"),
    "has_children": Label("有孩子", "Has children"),
}
_YES, _NO = Label("是", "Yes"), Label("否", "No")
_GENDERS = {
    "male": Label("男", "Male"),
    "female": Label("女", "Female"),
    "unknown": Label("未知", "Unknown"),
    "other": Label("其他", "Other"),
}
BUILT_IN_VALUES: dict[tuple[str, str], Label] = {
    **{("gender", value): label for value, label in _GENDERS.items()},
    ("gender", "m"): _GENDERS["male"],
    ("gender", "f"): _GENDERS["female"],
    # WeCom and WeChat send a gender as a number: 0 unknown, 1 male, 2 female.
    ("gender", "0"): _GENDERS["unknown"],
    ("gender", "1"): _GENDERS["male"],
    ("gender", "2"): _GENDERS["female"],
    ("marital_status", "single"): Label("未婚", "Single"),
    ("marital_status", "married"): Label("已婚", "Married"),
}
# Any trait's yes/no, whatever the trait.
ANSWERS = {"true": _YES, "false": _NO, "yes": _YES, "no": _NO}


def trait_key(trait: str) -> str:
    """The form a trait is looked up by: `firstName`, `first_name`, `First Name` → firstname."""
    return re.sub(r"[\s_\-.]", "", trait).lower()


def value_key(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


@dataclass(frozen=True)
class TraitDictionary:
    """The built-in names with the brand's over them, looked up by trait_key / value_key."""

    traits: Mapping[str, Label] = field(default_factory=dict)
    values: Mapping[tuple[str, str], Label] = field(default_factory=dict)

    def label(self, trait: str, value: str = "") -> Label | None:
        """The name of a trait (no value) or of one of its values, if anyone named it."""
        if value:
            return self.values.get((trait_key(trait), value_key(value)))
        return self.traits.get(trait_key(trait))

    def trait_name(self, trait: str, locale: str) -> str:
        found = self.traits.get(trait_key(trait))
        return found.shown(locale) if found else trait

    def trait_value(self, value: object, trait: str, locale: str) -> str:
        """A value as people read it; lists and objects as JSON, numbers and text as they are."""
        if value is None or value == "":
            return "–"
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        found = self.values.get((trait_key(trait), value_key(value)))
        if found is None and isinstance(value, bool | str):
            found = ANSWERS.get(value_key(value))
        return found.shown(locale) if found else str(value)


def _built_in() -> TraitDictionary:
    return TraitDictionary(
        {trait_key(k): v for k, v in BUILT_IN_TRAITS.items()},
        {(trait_key(t), value_key(v)): label for (t, v), label in BUILT_IN_VALUES.items()},
    )


BUILT_IN = _built_in()


def dictionary(session: Session | None) -> TraitDictionary:
    """The brand's dictionary (its names read once per session); the built-in one when there is
    no session."""
    if session is None:
        return BUILT_IN
    traits, values = dict(BUILT_IN.traits), dict(BUILT_IN.values)
    for row in brand_labels(session):
        if row.value:
            values[(trait_key(row.trait), value_key(row.value))] = row.label
        else:
            traits[trait_key(row.trait)] = row.label
    return TraitDictionary(traits, values)


@dataclass(frozen=True)
class BrandLabel:
    """One of the brand's names (a row of trait_labels), as read."""

    id: int
    trait: str
    value: str
    label: Label


_READ = "siyu_trait_labels"  # the session.info key of the brand's names as read


def brand_labels(session: Session) -> list[BrandLabel]:
    """The brand's names, read from the database once per session: a page that lists them,
    names traits and shows values asks one query (saving or forgetting one reads them again)."""
    if _READ not in session.info:
        query = select(
            TraitLabel.id, TraitLabel.trait, TraitLabel.value, TraitLabel.zh, TraitLabel.en
        ).order_by(TraitLabel.trait, TraitLabel.value)
        session.info[_READ] = [
            BrandLabel(row.id, row.trait, row.value, Label(row.zh, row.en))
            for row in session.execute(query)
        ]
    return session.info[_READ]


def _required(text: str, name: str, limit: int, message: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(message, field=name)
    if len(text) > limit:
        raise InvalidInput(N_("this is too long"), field=name)
    return text


def save_label(session: Session, trait: str, value: str, zh: str, en: str) -> TraitLabel:
    """Name a trait (value "") or one of its values; naming one again renames it."""
    trait = _required(trait, "trait", TRAIT_MAX, N_("name the trait, as customers carry it"))
    value, en = value.strip(), en.strip()
    zh = _required(zh, "zh", NAME_MAX, N_("a Chinese name is required"))
    if len(value) > VALUE_MAX:
        raise InvalidInput(N_("this is too long"), field="value")
    if len(en) > NAME_MAX:
        raise InvalidInput(N_("this is too long"), field="en")
    row = session.scalar(
        select(TraitLabel).where(TraitLabel.trait == trait, TraitLabel.value == value)
    )
    if row is None:
        row = TraitLabel(trait=trait, value=value, zh=zh, en=en)
        session.add(row)
    else:
        row.zh, row.en = zh, en
    session.flush()
    session.info.pop(_READ, None)
    return row


def remove_label(session: Session, label_id: int) -> TraitLabel:
    """Forget the brand's name: the built-in one, if any, shows again."""
    row = session.get(TraitLabel, label_id)
    if row is None:
        raise NotFound(N_("no such name in the trait dictionary"), field="label_id")
    session.delete(row)
    session.flush()
    session.info.pop(_READ, None)
    return row


@dataclass(frozen=True)
class Entry:
    """A row of the dictionary as the Settings page lists it."""

    trait: str
    value: str
    label: Label
    brand_id: int | None  # the brand's own row, which it can remove; None: built in


def entries(session: Session) -> list[Entry]:
    """Every name, built-in and the brand's, traits first, the brand's replacing built-in ones."""
    rows: dict[tuple[str, str], Entry] = {}
    for trait, label in BUILT_IN_TRAITS.items():
        rows[(trait_key(trait), "")] = Entry(trait, "", label, None)
    for (trait, value), label in BUILT_IN_VALUES.items():
        rows[(trait_key(trait), value_key(value))] = Entry(trait, value, label, None)
    for row in brand_labels(session):
        key = (trait_key(row.trait), value_key(row.value) if row.value else "")
        rows[key] = Entry(row.trait, row.value, row.label, row.id)
    return sorted(rows.values(), key=lambda e: (bool(e.value), trait_key(e.trait), e.value))


def unnamed_traits(session: Session, sample: int = 500) -> list[str]:
    """Traits the latest customers carry that nobody has named yet, to name next."""
    named = dictionary(session).traits
    seen: dict[str, None] = {}
    latest = select(Customer.traits).order_by(Customer.id.desc()).limit(sample)
    for traits in session.scalars(latest):
        seen |= dict.fromkeys(k for k in (traits or {}) if trait_key(k) not in named)
    return sorted(seen)
