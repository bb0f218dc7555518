"""The event catalogue (事件目录): every event Siyu knows, who acts in it, and its display names.

An event is done by the customer (a scan, a visit, an order, a reply), by the brand (a message
or SMS sent, a task assigned or completed, a coupon issued) or by the system (bookkeeping such as
linking two ids). Customer metrics (visitors, active customers, last visit, lifecycle stages,
funnels' entry steps, RFM recency) count only the customer's events, so a broadcast to a million
customers moves none of them.

A `track` event is known by its name; the other calls by their type (`identify`, `page`, …). An
event the catalogue does not know is the customer's own, unless SIYU_BRAND_EVENTS or
SIYU_SYSTEM_EVENTS (comma-separated names) say otherwise; those settings also override a known
event's actor. docs/events.md shows the catalogue: `python -m siyu.events.catalogue` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from siyu.core.settings import get_settings

Actor = Literal["customer", "brand", "system"]
ACTORS: tuple[Actor, ...] = ("customer", "brand", "system")
TRACK = "track"


@dataclass(frozen=True)
class EventKind:
    name: str  # the track event's name, or a call's type
    actor: Actor
    zh: str
    en: str
    is_call: bool = False  # a Segment call type (identify, page, …), not a track event's name


def _calls(*rows: tuple[str, Actor, str, str]) -> tuple[EventKind, ...]:
    return tuple(EventKind(*row, is_call=True) for row in rows)


def _events(*rows: tuple[str, Actor, str, str]) -> tuple[EventKind, ...]:
    return tuple(EventKind(*row) for row in rows)


CATALOGUE: tuple[EventKind, ...] = (
    *_calls(
        ("identify", "customer", "表明身份", "Identified"),
        ("page", "customer", "浏览页面", "Page viewed"),
        ("screen", "customer", "浏览屏幕", "Screen viewed"),
        ("group", "customer", "归属组织", "Group identified"),
        ("alias", "system", "关联身份", "Ids linked"),
    ),
    *_events(
        # Segment's e-commerce spec
        ("Order Completed", "customer", "完成订单", "Order completed"),
        ("Order Refunded", "customer", "订单退款", "Order refunded"),
        ("Order Cancelled", "customer", "取消订单", "Order cancelled"),
        ("Order Updated", "system", "订单更新", "Order updated"),
        ("Product Viewed", "customer", "浏览商品", "Product viewed"),
        ("Product Clicked", "customer", "点击商品", "Product clicked"),
        ("Product Added", "customer", "加入购物车", "Product added"),
        ("Product Removed", "customer", "移出购物车", "Product removed"),
        ("Product List Viewed", "customer", "浏览商品列表", "Product list viewed"),
        ("Products Searched", "customer", "搜索商品", "Products searched"),
        ("Product Shared", "customer", "分享商品", "Product shared"),
        ("Product Reviewed", "customer", "评价商品", "Product reviewed"),
        ("Cart Viewed", "customer", "查看购物车", "Cart viewed"),
        ("Checkout Started", "customer", "开始结算", "Checkout started"),
        ("Payment Info Entered", "customer", "填写支付信息", "Payment info entered"),
        ("Coupon Entered", "customer", "输入优惠券", "Coupon entered"),
        ("Coupon Applied", "customer", "使用优惠券", "Coupon applied"),
        ("Coupon Denied", "customer", "优惠券不可用", "Coupon denied"),
        ("Coupon Removed", "customer", "移除优惠券", "Coupon removed"),
        ("Promotion Viewed", "customer", "浏览促销", "Promotion viewed"),
        ("Promotion Clicked", "customer", "点击促销", "Promotion clicked"),
        # the private domain (私域)
        ("QR Code Scanned", "customer", "扫码", "QR code scanned"),
        ("Contact Added", "customer", "添加企微好友", "Contact added"),
        ("Contact Deleted", "customer", "删除企微好友", "Contact deleted"),
        ("Official Account Followed", "customer", "关注公众号", "Official account followed"),
        (
            "Official Account Unfollowed",
            "customer",
            "取消关注公众号",
            "Official account unfollowed",
        ),
        ("Group Joined", "customer", "加入社群", "Group joined"),
        ("Group Left", "customer", "退出社群", "Group left"),
        ("Message Read", "customer", "阅读消息", "Message read"),
        ("Message Replied", "customer", "回复消息", "Message replied"),
        ("SMS Clicked", "customer", "点击短信链接", "SMS clicked"),
        ("Coupon Redeemed", "customer", "核销优惠券", "Coupon redeemed"),
        ("Referral Completed", "customer", "完成推荐", "Referral completed"),
        ("Message Sent", "brand", "发送消息", "Message sent"),
        ("SMS Sent", "brand", "发送短信", "SMS sent"),
        ("Coupon Issued", "brand", "发放优惠券", "Coupon issued"),
        ("Coupon Returned", "system", "退回优惠券", "Coupon returned"),
        ("Coupon Expired", "system", "优惠券过期", "Coupon expired"),
        ("Coupon Expiring", "system", "优惠券即将过期", "Coupon expiring"),
        ("Flash Sale Reserved", "customer", "抢购预留", "Flash sale reserved"),
        ("Flash Sale Lapsed", "system", "抢购预留过期", "Flash sale reservation lapsed"),
        ("Group Buy Opened", "customer", "开团", "Group buy opened"),
        ("Group Buy Joined", "customer", "参团", "Group buy joined"),
        ("Group Buy Succeeded", "system", "拼团成功", "Group buy succeeded"),
        ("Group Buy Failed", "system", "拼团失败", "Group buy failed"),
        ("Tiered Price Joined", "customer", "参加阶梯价", "Tiered price joined"),
        ("Coupon Claimed", "customer", "领取优惠券", "Coupon claimed"),
        ("Promotion Page Viewed", "customer", "浏览活动页", "Promotion page viewed"),
        ("Promotion Refund Issued", "system", "发出活动退款", "Promotion refund issued"),
        ("Promotion Refund Confirmed", "system", "活动退款已确认", "Promotion refund confirmed"),
        ("Tier Changed", "brand", "会员等级变更", "Tier changed"),
        ("Points Earned", "brand", "获得积分", "Points earned"),
        ("Points Reversed", "brand", "积分冲回", "Points reversed"),
        ("Points Spent", "brand", "积分兑换", "Points spent"),
        ("Points Adjusted", "brand", "积分调整", "Points adjusted"),
        ("Task Assigned", "brand", "分配导购任务", "Task assigned"),
        ("Task Completed", "brand", "完成导购任务", "Task completed"),
        # reach (触达): what the brand sends and what becomes of it
        ("Message Planned", "brand", "计划发送消息", "Message planned"),
        ("Message Delivered", "brand", "消息送达", "Message delivered"),
        ("Message Failed", "brand", "消息发送失败", "Message failed"),
        ("Message Clicked", "customer", "点击消息链接", "Message clicked"),
        ("Unsubscribed", "system", "退订", "Unsubscribed"),
        ("Journey Entered", "brand", "进入旅程", "Journey entered"),
        ("Journey Step Completed", "brand", "完成旅程步骤", "Journey step completed"),
        ("Journey Exited", "brand", "退出旅程", "Journey exited"),
    ),
)
KNOWN = {kind.name: kind for kind in CATALOGUE if not kind.is_call}
CALLS = {kind.name: kind for kind in CATALOGUE if kind.is_call}


def _names(setting: str) -> frozenset[str]:
    return frozenset(name.strip() for name in setting.split(",") if name.strip())


@lru_cache
def _configured(brand: str, system: str) -> dict[str, Actor]:
    """Each track event's actor: the catalogue's, then the brand's settings over it."""
    actors: dict[str, Actor] = {name: kind.actor for name, kind in KNOWN.items()}
    actors |= dict.fromkeys(_names(brand), "brand")
    actors |= dict.fromkeys(_names(system), "system")
    return actors


def track_actors() -> dict[str, Actor]:
    """Track event name → actor, with SIYU_BRAND_EVENTS and SIYU_SYSTEM_EVENTS applied."""
    settings = get_settings()
    return _configured(settings.brand_events, settings.system_events)


def actor_of(event: str | None, call: str = TRACK) -> Actor:
    """Who did it; an unknown track event is the customer's own."""
    if call != TRACK:
        found = CALLS.get(call)
        return found.actor if found else "customer"
    return track_actors().get(event or "", "customer")


def is_customer_act(event: str | None, call: str = TRACK) -> bool:
    return actor_of(event, call) == "customer"


def not_customer_events() -> list[str]:
    """Track event names the customer does not do (sorted: compiled SQL stays the same)."""
    return sorted(name for name, actor in track_actors().items() if actor != "customer")


def customer_calls() -> list[str]:
    """Call types (other than track) that are the customer's own."""
    return sorted(name for name, kind in CALLS.items() if kind.actor == "customer")


def display_name(event: str | None, locale: str, call: str = TRACK) -> str:
    """The event as people read it in `locale` (zh-CN or en); an unknown one by its own name."""
    kind = CALLS.get(call) if call != TRACK else KNOWN.get(event or "")
    if kind is None:
        return event or call
    return kind.en if locale == "en" else kind.zh


ACTOR_NAMES = {
    "customer": ("客户", "customer"),
    "brand": ("品牌", "brand"),
    "system": ("系统", "system"),
}


def markdown() -> str:
    """The catalogue as docs/events.md shows it (without the brand's settings)."""
    lines = [
        "| event | actor | zh-CN | en |",
        "| --- | --- | --- | --- |",
    ]
    for kind in CATALOGUE:
        name = f"`{kind.name}` call" if kind.is_call else f"`{kind.name}`"
        zh_actor, _ = ACTOR_NAMES[kind.actor]
        lines.append(f"| {name} | {kind.actor} ({zh_actor}) | {kind.zh} | {kind.en} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
