"""One step of a demo customer's journey, written as Segment messages: arrive, visit, win back.

An arrival is a scan (or a first visit) at a touchpoint, often adding a guide (导购) on WeCom; a
visit may be prompted by a message from a guide, a group, the official account or an SMS, and may
end in an order; a win-back is the message a lapsed customer gets, which brings a few back and
makes some leave (流失) for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from siyu.demo.basket import Line, amount_due, basket, choose_coupon, subtotal
from siyu.demo.brand import CITIES, GROUPS, TOUCHPOINTS
from siyu.demo.people import People, Profile, rng_for
from siyu.demo.timeline import DAY_SECONDS, HOUR_CUMULATIVE, campaign

ARRIVAL, VISIT, WINBACK = 0, 1, 2
MAX_STEP = 4095
REFUND_REASONS = ("做错饮品", "配送超时", "口味不满意", "重复下单")
CAMPAIGNS = {
    "618": "618囤茶节",
    "double11": "双11囤茶节",
    "double12": "双12返场",
    "520": "520告白季",
}
WEEKLY_CAMPAIGNS = ("新品试饮", "会员日福利", "第二杯半价", "下午茶拼单")
GUIDE_CODES = {t.owner: t.code for t in TOUCHPOINTS if t.group == "guide"}
Key = tuple[str, str]


@dataclass(frozen=True)
class Next:
    kind: int
    day: int
    second: int


@dataclass
class Step:
    """The messages of one step, the owners it assigns and when the customer comes next."""

    messages: list[dict] = field(default_factory=list)
    owners: list[tuple[Key, str]] = field(default_factory=list)
    next: Next | None = None


class Journey:
    """Writes one step of one customer; every draw comes from that step's own random stream."""

    def __init__(self, people: People, profile: Profile, kind: int, k: int, day: int, second: int):
        self.people, self.p, self.kind, self.k, self.day = people, profile, kind, k, day
        self.timeline = people.timeline
        self.rng = rng_for(people.seed, profile.index, k + 1)
        self.at = self.timeline.instant(day, second)
        self.date = self.timeline.date(day)
        self.festival = campaign(self.date)
        first = profile.first_order_step
        self.identified = first is not None and k > first
        self.step = Step()
        self._count = 0

    def run(self) -> Step:
        if self.kind == ARRIVAL:
            self._arrive()
            self._visit(self.p.touchpoint.code)
        elif self.kind == VISIT:
            self._visit(self._reach())
        else:
            self._win_back()
        return self.step

    # -- messages

    def _ids(self, device: bool) -> dict:
        if not self.identified:
            return {"anonymousId": self.p.anonymous_id}
        ids = {"userId": self.p.user_id}
        if device:
            ids["anonymousId"] = self.p.anonymous_id
        return ids

    def _add(self, message: dict, at: datetime) -> bool:
        if at > self.timeline.cutoff:
            return False
        # Day first: a day's ids are neighbours, so the dedup index grows at its end.
        step_id = f"{self.people.seed}-{self.day:04d}-{self.p.index}-{self.k}"
        message["messageId"] = f"demo-{step_id}-{self._count}"
        message["timestamp"] = at.isoformat()
        self._count += 1
        self.step.messages.append(message)
        return True

    def _wait(self, low: int, high: int) -> datetime:
        self.at += timedelta(seconds=self.rng.randint(low, high))
        return self.at

    def track(
        self,
        event: str,
        properties: dict,
        *,
        device: bool = True,
        traits: dict | None = None,
        wait: tuple[int, int] = (5, 90),
        ids: dict | None = None,
    ) -> bool:
        message = {"type": "track", "event": event, **(ids or self._ids(device))}
        message["properties"] = properties
        if traits:
            message["context"] = {"traits": traits}
        return self._add(message, self._wait(*wait))

    def screen(self, name: str, properties: dict) -> bool:
        message = {"type": "screen", "name": name, **self._ids(True), "properties": properties}
        return self._add(message, self._wait(5, 60))

    def identify(self) -> None:
        message = {
            "type": "identify",
            "userId": self.p.user_id,
            "anonymousId": self.p.anonymous_id,
            "traits": self.p.traits(),
        }
        self._add(message, self._wait(10, 60))
        self.identified = True

    # -- arrival

    def _arrive(self) -> None:
        touchpoint = self.p.touchpoint
        if touchpoint.group in ("mini_program", "mall"):
            self.screen("首页", {"touchpoint": touchpoint.code})
        elif touchpoint.group != "official_account":
            device = "iOS" if self.rng.random() < 0.55 else "Android"
            properties = {"touchpoint": touchpoint.code, "code": touchpoint.code, "device": device}
            self.track("QR Code Scanned", properties, wait=(0, 0))
        if self.p.guide:
            self._add_guide(touchpoint.code, self.p.guide)

    def _wecom(self) -> dict:
        return {"external_userid": self.p.external_userid}

    def _add_guide(self, touchpoint: str, guide: str) -> None:
        properties = {"touchpoint": touchpoint, "guide": guide, "welcome_sent": True}
        if self.track("Contact Added", properties, device=False, traits=self._wecom()):
            self.step.owners.append((("wecom_external_userid", self.p.external_userid), guide))
        welcome = {"channel": "wecom", "campaign": "欢迎语", "guide": guide}
        self.track("Message Sent", welcome, device=False, traits=self._wecom(), wait=(1, 5))
        if self.rng.random() < 0.8:
            self.track("Message Read", welcome, device=False, traits=self._wecom(), wait=(10, 600))

    # -- visit

    def _visit(self, touchpoint: str | None) -> None:
        p = self.p
        if self.k == p.follows_oa_step:
            self._follow_official_account()
        if p.group and self.k == p.group_step:
            self._join_group(p.group)
        channel = self._channel()
        buys = self._buys()
        if channel != "store" or not buys:
            self._browse(channel)
        if buys:
            self._order(channel, touchpoint)
        self._schedule()

    def _follow_official_account(self) -> None:
        code = self.p.touchpoint.code if self.k == 0 else "oa-article"
        scene = {"oa-search": "search", "oa-menu": "menu", "oa-article": "article"}.get(code)
        properties = {"touchpoint": code, "scene": scene or "qrcode"}
        self.track(
            "Official Account Followed", properties, device=False, traits={"openid": self.p.openid}
        )

    def _join_group(self, group: str) -> None:
        group_id, group_name = GROUPS[group]
        properties = {"group_id": group_id, "group_name": group_name, "touchpoint": group}
        self.track("Group Joined", properties, device=False, traits=self._wecom())

    def _channel(self) -> str:
        draw = self.rng.random()
        if self.festival in ("618", "double11", "double12") and draw < 0.12:
            return "mall"
        return "store" if self.p.city in CITIES and draw < 0.45 else "mini_program"

    def _buys(self) -> bool:
        first = self.p.first_order_step
        if first is None or self.k < first:
            return False
        return self.k == first or self.rng.random() < self.p.habit.buys

    def _browse(self, channel: str) -> None:
        self.screen("点单" if channel != "mall" else "商城首页", {"store": self.p.store})
        for _ in range(1 + (self.rng.random() < 0.4)):
            line = basket(self.rng, 1, self.date, channel, None)[0].as_property()
            line.pop("quantity")
            self.track("Product Viewed", line, wait=(5, 120))

    def _order(self, channel: str, touchpoint: str | None) -> None:
        p, first = self.p, self.k == self.p.first_order_step
        if not self.identified:
            self.identify()
        lines = basket(self.rng, p.habit.cups, self.date, channel, self.festival)
        order_id = f"SC{self.date:%Y%m%d}{p.index:07d}{self.k:04d}"
        coupon = choose_coupon(
            self.rng,
            subtotal(lines),
            first=first,
            referred=p.touchpoint.code == "poster-referral",
            member=p.member_id is not None,
            festival=self.festival,
        )
        if coupon:
            applied = {"coupon_id": coupon.coupon_id, "coupon_name": coupon.name}
            applied |= {"discount": f"{coupon.discount:.2f}", "order_id": order_id}
            self.track("Coupon Applied", applied, device=channel != "store")
        revenue = amount_due(lines, coupon)
        properties = {
            "order_id": order_id,
            "revenue": f"{revenue:.2f}",
            "currency": "CNY",
            "products": [line.as_property() for line in lines],
            "touchpoint": touchpoint or self._default_touchpoint(channel),
            "channel": channel,
        }
        if channel != "mall":
            properties["store"] = p.store
        if coupon:
            properties["coupon"] = coupon.coupon_id
        self.track("Order Completed", properties, device=channel != "store", wait=(20, 240))
        if first and p.touchpoint.code == "poster-referral":
            self._referral(order_id)
        if self.rng.random() < 0.025:
            self._refund(order_id, lines, revenue)

    def _default_touchpoint(self, channel: str) -> str:
        return {"store": f"store-{self.p.store}", "mall": "mall-tmall"}.get(channel, "mp-order")

    def _referral(self, order_id: str) -> None:
        """The invited customer's first order completes the referral (老带新): the event is
        theirs (they acted), and names who brought them; funnels count it at their Referral step."""
        referrer = self.people.referrer_of(self.p)
        if referrer is None:
            return
        properties = {
            "referrer_id": referrer.user_id,
            "referee_id": self.p.user_id,
            "order_id": order_id,
            "reward": "免费饮品券",
        }
        self.track("Referral Completed", properties, device=False)

    def _refund(self, order_id: str, lines: list[Line], revenue: Decimal) -> None:
        amount = revenue
        if len(lines) > 1 and self.rng.random() < 0.4:
            amount = min(lines[-1].product.price, revenue)
        properties = {
            "order_id": order_id,
            "revenue": f"{amount:.2f}",
            "reason": self.rng.choice(REFUND_REASONS),
        }
        at = self.at + timedelta(seconds=self.rng.randint(600, 2 * DAY_SECONDS))
        message = {"type": "track", "event": "Order Refunded", **self._ids(False)}
        self._add({**message, "properties": properties}, at)

    # -- reach

    def _reach(self) -> str | None:
        """A message before this visit; the touchpoint it wins if it was read, else None."""
        channels = self._reach_channels()
        if not channels or self.rng.random() >= 0.6:
            return None
        channel = self.rng.choice(channels)
        name = CAMPAIGNS.get(self.festival or "") or self._weekly_campaign()
        touchpoint: str | None
        if channel == "sms":
            read, touchpoint = self._sms(name), "sms-member"
        else:
            read, touchpoint = self._message(channel, name)
        if not read:  # the customer comes by later, of their own accord
            self._wait(1800, 6 * 3600)
        return touchpoint if read else None

    def _sms(self, name: str) -> bool:
        """One-way and mostly ignored: few customers click an SMS link."""
        self.track("SMS Sent", {"campaign": name}, device=False, wait=(0, 0))
        clicked = self.rng.random() < 0.06
        if clicked:
            self.track("SMS Clicked", {"campaign": name, "touchpoint": "sms-member"})
        return clicked

    def _reach_channels(self) -> list[str]:
        p, k = self.p, self.k
        channels = []
        if p.guide:
            channels += ["wecom", "wecom"]
        if p.group and p.group_step is not None and k > p.group_step:
            channels.append("group")
        if p.follows_oa_step is not None and k > p.follows_oa_step:
            channels.append("official_account")
        if self.identified and p.member_id and self.festival:
            channels.append("sms")
        return channels

    def _weekly_campaign(self) -> str:
        return "周四上新" if self.date.weekday() == 3 else self.rng.choice(WEEKLY_CAMPAIGNS)

    def _message(self, channel: str, name: str) -> tuple[bool, str | None]:
        """A message from a guide, a group or the official account: (read?, its touchpoint)."""
        properties: dict = {"channel": channel, "campaign": name}
        traits, touchpoint, reads = self._wecom(), None, 0.3
        if channel == "wecom":
            properties["guide"] = self.p.guide
            touchpoint, reads = GUIDE_CODES.get(self.p.guide or ""), 0.65
        elif channel == "group":
            properties["group_id"] = GROUPS[self.p.group or ""][0]
            touchpoint, reads = self.p.group, 0.45
        else:
            traits, touchpoint = {"openid": self.p.openid}, "oa-article"
        self.track("Message Sent", properties, device=False, traits=traits, wait=(0, 0))
        if self.rng.random() >= reads:
            return False, None
        self.track("Message Read", properties, device=False, traits=traits, wait=(60, 3600))
        return True, touchpoint

    # -- what comes next

    def _schedule(self) -> None:
        p, rng = self.p, self.rng
        has_bought = p.first_order_step is not None and self.k >= p.first_order_step
        if rng.random() < p.habit.keeps_coming:
            self.step.next = self._next_visit()
        elif has_bought and (p.guide or p.member_id or self._follows_official_account()):
            self.step.next = Next(WINBACK, self.day + rng.randint(20, 45), self._second())
        elif p.guide and rng.random() < 0.15:
            self._leave()

    def _next_visit(self) -> Next | None:
        """The next visit, by thinning: busy days (weekends, 618, Double 11) draw more visits."""
        timeline, rng = self.timeline, self.rng
        rate = timeline.busiest / self.p.habit.mean_gap
        moment = float(self.day + 1)
        while True:
            moment += rng.expovariate(rate)
            day = int(moment)
            if day >= timeline.days:
                return None
            if rng.random() * timeline.busiest < timeline.factors[day]:
                return Next(VISIT, day, self._second())

    def _second(self) -> int:
        hour = self.rng.choices(range(24), cum_weights=HOUR_CUMULATIVE)[0]
        return hour * 3600 + self.rng.randrange(3600)

    # -- win-back and leaving

    def _win_back(self) -> None:
        """想你了: a lapsed buyer gets a coupon; a few come back, some leave for good."""
        p, rng, name = self.p, self.rng, "想你了·回归券"
        if p.guide:
            responded = self._message("wecom", name)[0]
        elif p.member_id:
            responded = self._sms(name)
        else:
            responded = self._message("official_account", name)[0]
        if responded and rng.random() < 0.4:
            self.step.next = Next(VISIT, self.day + rng.randint(1, 5), self._second())
        elif rng.random() < 0.4:
            self._leave()

    def _follows_official_account(self) -> bool:
        return self.p.follows_oa_step is not None and self.p.follows_oa_step <= self.k

    def _leave(self) -> None:
        p, rng = self.p, self.rng
        if p.guide and rng.random() < 0.7:
            properties = {"guide": p.guide, "by": "customer"}
            self.track("Contact Deleted", properties, device=False, traits=self._wecom())
        if self._follows_official_account() and rng.random() < 0.5:
            openid = {"openid": p.openid}
            self.track("Official Account Unfollowed", {}, device=False, traits=openid)
        if p.group and p.group_step is not None and p.group_step <= self.k and rng.random() < 0.5:
            group_id, group_name = GROUPS[p.group]
            properties = {"group_id": group_id, "group_name": group_name}
            self.track("Group Left", properties, device=False, traits=self._wecom())
