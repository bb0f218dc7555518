"""Demo customers: each one's profile (name, phone, habit, where they arrive) from seed and index.

A profile is computed, never stored: the same seed and index always give the same person, so the
generator keeps no per-customer state beyond a place in its calendar.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from random import Random

from siyu.demo.brand import (
    CITIES,
    GUIDES_BY_STORE,
    STORES,
    TOUCHPOINTS,
    TouchpointSpec,
)
from siyu.demo.timeline import DAY_SECONDS, HOUR_CUMULATIVE, Timeline, campaign

REFERRER_STEP = 8191  # the random stream that picks a referee's referrer
FIRST_PHONE = "13800138000"  # customer 0, the one the README looks up


@dataclass(frozen=True)
class Habit:
    """How a kind of customer behaves: 一次性 one-time buyers, a loyal core, and in between."""

    name: str
    share: float
    mean_gap: float  # days between visits
    keeps_coming: float  # chance of another visit after each one
    buys: float  # chance that a later visit ends in an order
    cups: float  # drinks per order, on average
    joins_group: float
    is_member: float


HABITS = (
    Habit("browser", 0.22, 20, 0.30, 0.0, 0.0, 0.05, 0.0),
    Habit("one_time", 0.38, 30, 0.35, 0.0, 1.5, 0.10, 0.25),
    Habit("occasional", 0.25, 24, 0.80, 0.70, 1.8, 0.25, 0.70),
    Habit("regular", 0.10, 10, 0.92, 0.85, 2.0, 0.40, 0.85),
    Habit("loyal", 0.05, 5, 0.97, 0.90, 2.4, 0.60, 0.95),
)


@dataclass(frozen=True)
class Profile:
    index: int
    arrival_day: int
    arrival_second: int
    touchpoint: TouchpointSpec
    habit: Habit
    store: str
    city: str
    guide: str | None  # WeCom UserID of the guide the customer adds on arrival
    first_order_step: int | None
    follows_oa_step: int | None
    group: str | None  # the touchpoint code of the customer group (社群) joined
    group_step: int | None
    name: str
    gender: str
    phone: str
    birthday: str
    member_id: str | None
    user_id: str
    anonymous_id: str
    external_userid: str
    openid: str

    @property
    def can_refer(self) -> bool:
        return self.member_id is not None and self.first_order_step == 0

    def traits(self) -> dict:
        traits = {
            "name": self.name,
            "phone": self.phone,
            "gender": self.gender,
            "city": self.city,
            "birthday": self.birthday,
        }
        if self.member_id:
            traits["member_id"] = self.member_id
        return traits


def _showcase(profile: Profile) -> Profile:
    """Customer 0 (phone 13800138000, the README's example): a loyal member with a guide."""
    return replace(
        profile,
        habit=HABITS[-1],
        first_order_step=0,
        member_id="SC00000001",
        guide=profile.guide or GUIDES_BY_STORE[profile.store][0],
    )


@cache
def _names() -> dict:
    return json.loads(resources.files("siyu.demo").joinpath("names.json").read_text("utf-8"))


def _cumulative(weights) -> tuple[float, ...]:
    return tuple(itertools.accumulate(weights))


@cache
def _arrival_weights(festival: str | None) -> tuple:
    chosen = [t for t in TOUCHPOINTS if t.weight and t.campaign in (None, festival)]
    return tuple(chosen), _cumulative(t.weight for t in chosen)


@cache
def _habit_weights(group: str) -> tuple[float, ...]:
    lean = {"paid_ad": (1.6, 1.1, 0.8, 0.6, 0.5), "guide": (0.6, 0.9, 1.2, 1.4, 1.6)}
    factors = lean.get(group, (1.0,) * len(HABITS))
    return _cumulative(h.share * f for h, f in zip(HABITS, factors, strict=True))


def rng_for(seed: int, index: int, step: int) -> Random:
    """The random stream of one customer's step: independent of every other customer's."""
    return Random((seed * 2**31 + index) * 2**13 + step)


class People:
    """The demo's customers, arriving in index order over the timeline."""

    def __init__(self, seed: int, count: int, timeline: Timeline):
        self.seed, self.count, self.timeline = seed, count, timeline
        names = _names()
        self.surnames = tuple(names["surnames"])
        self.surname_weights = _cumulative(names["surnames"].values())
        self.given = {"female": names["female"], "male": names["male"]}
        self.other_cities = tuple(names["other_cities"])
        self.prefixes = tuple(names["phone_prefixes"])
        self.store_weights = _cumulative(s.weight for s in STORES)
        # Arrivals on the last day fit before the cutoff, with five minutes for their first steps.
        self.last_day_seconds = max(1, timeline.last_day_seconds() - 300)

    def arrival(self, index: int, rng: Random | None = None) -> tuple[int, int]:
        """The day and second of the day a customer first meets the brand (monotone in index)."""
        rng = rng or rng_for(self.seed, index, 0)
        day = self.timeline.arrival_day((index + rng.random()) / self.count)
        hour = rng.choices(range(24), cum_weights=HOUR_CUMULATIVE)[0]
        second = hour * 3600 + rng.randrange(3600)
        if day == self.timeline.days - 1:  # today: everyone arrives before now
            second = second * self.last_day_seconds // DAY_SECONDS
        return day, min(second, DAY_SECONDS - 1)

    def profile(self, index: int) -> Profile:
        rng = rng_for(self.seed, index, 0)
        day, second = self.arrival(index, rng)
        touchpoint = self._touchpoint(rng, day)
        habit = rng.choices(HABITS, cum_weights=_habit_weights(touchpoint.group))[0]
        store = touchpoint.store or rng.choices(STORES, cum_weights=self.store_weights)[0].code
        first_order = self._first_order_step(rng, habit)
        is_member = first_order is not None and rng.random() < habit.is_member
        group, group_step = self._group(rng, habit, touchpoint, store)
        gender = "female" if rng.random() < 0.68 else "male"
        profile = Profile(
            index=index,
            arrival_day=day,
            arrival_second=second,
            touchpoint=touchpoint,
            habit=habit,
            store=store,
            city=self._city(rng, store, touchpoint),
            guide=self._guide(rng, touchpoint, store),
            first_order_step=first_order,
            follows_oa_step=self._follows_oa_step(rng, touchpoint),
            group=group,
            group_step=group_step,
            name=self._name(rng, gender),
            gender=gender,
            phone=self._phone(index),
            birthday=self._birthday(rng),
            member_id=f"SC{index + 1:08d}" if is_member else None,
            user_id=f"u{index + 1:07d}",
            anonymous_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            external_userid=f"wm{rng.getrandbits(120):030x}",
            openid=f"oSC{rng.getrandbits(100):025x}",
        )
        return _showcase(profile) if index == 0 else profile

    def _touchpoint(self, rng: Random, day: int) -> TouchpointSpec:
        chosen, weights = _arrival_weights(campaign(self.timeline.date(day)))
        return rng.choices(chosen, cum_weights=weights)[0]

    @staticmethod
    def _first_order_step(rng: Random, habit: Habit) -> int | None:
        if habit.name == "browser":
            return None
        draw = rng.random()
        return 0 if draw < 0.65 else 1 if draw < 0.9 else 2

    @staticmethod
    def _follows_oa_step(rng: Random, touchpoint: TouchpointSpec) -> int | None:
        if touchpoint.group == "official_account":
            return 0
        return rng.randrange(4) if rng.random() < 0.35 else None

    @staticmethod
    def _group(
        rng: Random, habit: Habit, touchpoint: TouchpointSpec, store: str
    ) -> tuple[str | None, int]:
        if touchpoint.group == "group":
            return touchpoint.code, 0
        if rng.random() >= habit.joins_group:
            return None, 0
        if habit.name == "loyal" and rng.random() < 0.5:
            return "group-vip", 2 + rng.randrange(4)
        city_group = "group-cs" if store.startswith("cs-") else "group-wh"
        return ("group-flash" if rng.random() < 0.25 else city_group), rng.randrange(4)

    def _city(self, rng: Random, store: str, touchpoint: TouchpointSpec) -> str:
        away = 0.05 if touchpoint.store else 0.15
        if rng.random() < away:
            return rng.choice(self.other_cities)
        return CITIES[0] if store.startswith("cs-") else CITIES[1]

    @staticmethod
    def _guide(rng: Random, touchpoint: TouchpointSpec, store: str) -> str | None:
        if rng.random() >= touchpoint.adds_guide:
            return None
        return touchpoint.owner or rng.choice(GUIDES_BY_STORE[store])

    def _name(self, rng: Random, gender: str) -> str:
        surname = rng.choices(self.surnames, cum_weights=self.surname_weights)[0]
        chars = self.given[gender]
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
        return surname + given

    def _phone(self, index: int) -> str:
        # A bijection of the index onto eight digits, so no two customers share a number
        # (a shared phone would fold two people into one customer).
        suffix = (index * 48_271 + 138_000) % 10**8
        start = self.prefixes.index(FIRST_PHONE[:3])
        return f"{self.prefixes[(start + index * 7) % len(self.prefixes)]}{suffix:08d}"

    @staticmethod
    def _birthday(rng: Random) -> str:
        year = int(rng.triangular(1975, 2007, 2000))
        return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def referrer_of(self, referee: Profile) -> Profile | None:
        """An earlier member who brought this customer (老带新), or None if none fits."""
        rng = rng_for(self.seed, referee.index, REFERRER_STEP)
        for _ in range(8):
            candidate = rng.randrange(referee.index) if referee.index else None
            if candidate is None:
                return None
            profile = self.profile(candidate)
            if profile.can_refer and profile.arrival_day < referee.arrival_day:
                return profile
        return None
