"""The demo brand 「山茶 Shancha」: stores, staff, touchpoints (触点) and menu, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BRAND = "山茶 Shancha"


@dataclass(frozen=True)
class StoreSpec:
    code: str
    name: str
    city: str
    manager: str
    guides: tuple[str, ...]
    weight: float  # share of the brand's walk-in customers


@dataclass(frozen=True)
class StaffSpec:
    wecom_userid: str
    name: str
    role: str
    store: str | None


@dataclass(frozen=True)
class TouchpointSpec:
    code: str
    name: str
    group: str
    entry_type: str
    weight: float  # share of new customers who arrive here
    store: str | None = None
    owner: str | None = None  # WeCom UserID of the guide whose channel code (渠道活码) this is
    adds_guide: float = 0.0  # chance that a scan here ends in adding a guide on WeCom
    cost_per_contact: Decimal | None = None  # paid entries: what one new customer costs (获客成本)
    campaign: str | None = None  # only active during this campaign


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price: Decimal
    months: tuple[int, ...] = ()  # seasonal: sold only in these months


STORES = (
    StoreSpec("cs-wuyi", "山茶·五一广场店", "长沙", "谭雅琴", ("刘晓雯", "彭思远", "曾可欣"), 1.6),
    StoreSpec("cs-pozi", "山茶·坡子街店", "长沙", "周建华", ("李梦瑶", "黄子轩", "罗婷"), 1.4),
    StoreSpec("cs-meixi", "山茶·梅溪湖店", "长沙", "陈立群", ("易佳琪", "邓浩然"), 1.0),
    StoreSpec("cs-dsq", "山茶·德思勤店", "长沙", "胡文静", ("袁诗涵", "肖凯"), 0.8),
    StoreSpec("wh-jianghan", "山茶·江汉路店", "武汉", "吴国栋", ("王雨萱", "张博文", "夏悦"), 1.3),
    StoreSpec("wh-chuhe", "山茶·楚河汉街店", "武汉", "杨慧敏", ("朱晨曦", "郭琳"), 1.0),
    StoreSpec("wh-guanggu", "山茶·光谷店", "武汉", "孙明", ("何嘉怡", "徐航"), 0.9),
)
CITIES = ("长沙", "武汉")

PERSONA = StaffSpec("persona-xiaocha", "山茶小茶", "persona", None)  # the brand's persona account
HEAD_OFFICE = (
    PERSONA,
    StaffSpec("assistant-xiaocha", "林芸", "assistant", None),
    StaffSpec("ops-manager", "蒋思齐", "manager", None),
)


def staff_of(store: StoreSpec) -> tuple[StaffSpec, ...]:
    manager = StaffSpec(f"{store.code}-mgr", store.manager, "manager", store.code)
    guides = tuple(
        StaffSpec(f"{store.code}-g{n}", name, "guide", store.code)
        for n, name in enumerate(store.guides, start=1)
    )
    return (manager, *guides)


STAFF = HEAD_OFFICE + tuple(member for store in STORES for member in staff_of(store))
GUIDES_BY_STORE = {
    store.code: tuple(s.wecom_userid for s in staff_of(store) if s.role == "guide")
    for store in STORES
}


def _store_codes() -> tuple[TouchpointSpec, ...]:
    return tuple(
        TouchpointSpec(
            f"store-{s.code}",
            f"{s.name}台卡码",
            "store",
            "owned",
            9.0 * s.weight,
            s.code,
            adds_guide=0.75,
        )
        for s in STORES
    )


TOUCHPOINTS = (
    TouchpointSpec("oa-menu", "公众号菜单", "official_account", "owned", 3.0),
    TouchpointSpec("oa-article", "公众号推文", "official_account", "owned", 4.0, adds_guide=0.3),
    TouchpointSpec("oa-search", "微信搜一搜", "official_account", "organic", 2.5),
    *_store_codes(),
    TouchpointSpec(
        "guide-cs-wuyi-g1", "刘晓雯的渠道活码", "guide", "owned", 2.5, "cs-wuyi", "cs-wuyi-g1", 1.0
    ),
    TouchpointSpec(
        "guide-cs-pozi-g1", "李梦瑶的渠道活码", "guide", "owned", 2.0, "cs-pozi", "cs-pozi-g1", 1.0
    ),
    TouchpointSpec(
        "guide-wh-jianghan-g1",
        "王雨萱的渠道活码",
        "guide",
        "owned",
        2.0,
        "wh-jianghan",
        "wh-jianghan-g1",
        1.0,
    ),
    TouchpointSpec(
        "guide-persona", "山茶小茶人设号", "guide", "owned", 3.0, None, PERSONA.wecom_userid, 1.0
    ),
    TouchpointSpec("group-cs", "长沙福利群活码", "group", "owned", 1.2, adds_guide=0.4),
    TouchpointSpec("group-wh", "武汉福利群活码", "group", "owned", 1.0, adds_guide=0.4),
    TouchpointSpec("group-flash", "秒杀群活码", "group", "owned", 0.8, adds_guide=0.3),
    TouchpointSpec("group-vip", "VIP会员群邀请", "group", "owned", 0.0),
    TouchpointSpec("mp-home", "小程序首页", "mini_program", "organic", 5.0),
    TouchpointSpec("mp-order", "小程序点单页", "mini_program", "owned", 4.0, adds_guide=0.2),
    TouchpointSpec("mp-share", "小程序分享卡片", "mini_program", "organic", 2.5),
    TouchpointSpec("item-cup", "杯套一物一码", "product_item", "owned", 6.0, adds_guide=0.5),
    TouchpointSpec("poster-referral", "老带新海报", "poster", "owned", 4.0, adds_guide=0.6),
    TouchpointSpec(
        "poster-618", "618囤茶节海报", "poster", "owned", 30.0, adds_guide=0.5, campaign="618"
    ),
    TouchpointSpec(
        "poster-1111",
        "双11囤茶节海报",
        "poster",
        "owned",
        30.0,
        adds_guide=0.5,
        campaign="double11",
    ),
    TouchpointSpec(
        "ad-douyin",
        "抖音信息流广告",
        "paid_ad",
        "paid",
        4.5,
        adds_guide=0.35,
        cost_per_contact=Decimal("38.00"),
    ),
    TouchpointSpec(
        "ad-xhs",
        "小红书种草笔记",
        "paid_ad",
        "paid",
        3.0,
        adds_guide=0.4,
        cost_per_contact=Decimal("45.00"),
    ),
    TouchpointSpec(
        "ad-moments",
        "朋友圈广告",
        "paid_ad",
        "paid",
        2.0,
        adds_guide=0.5,
        cost_per_contact=Decimal("30.00"),
    ),
    TouchpointSpec(
        "ad-meituan",
        "美团/大众点评推广",
        "paid_ad",
        "paid",
        2.5,
        adds_guide=0.3,
        cost_per_contact=Decimal("22.00"),
    ),
    TouchpointSpec("sms-member", "会员短信", "sms", "owned", 0.0),
    TouchpointSpec("mall-tmall", "天猫旗舰店", "mall", "organic", 2.0, adds_guide=0.15),
)

# Customer groups (社群) a contact can join: general city groups, a flash-sale group, a VIP group.
GROUPS = {
    "group-cs": ("g-cs-01", "山茶长沙福利群"),
    "group-wh": ("g-wh-01", "山茶武汉福利群"),
    "group-flash": ("g-flash-01", "山茶秒杀群"),
    "group-vip": ("g-vip-01", "山茶VIP会员群"),
}


def _p(product_id: str, name: str, category: str, price: str, *months: int) -> Product:
    return Product(product_id, name, category, Decimal(price), months)


DRINKS = (
    _p("T01", "山茶拿铁", "奶茶", "16.00"),
    _p("T02", "白桃乌龙", "纯茶", "15.00"),
    _p("T03", "茉莉奶绿", "奶茶", "14.00"),
    _p("T04", "桂花酒酿鲜奶", "奶茶", "18.00"),
    _p("T05", "黑糖珍珠鲜奶", "奶茶", "17.00"),
    _p("T06", "栀子青柠", "果茶", "13.00"),
    _p("T07", "芝士莓莓", "果茶", "22.00"),
    _p("T08", "高山乌龙", "纯茶", "12.00"),
    _p("T09", "冰博克厚乳", "奶茶", "19.00"),
    _p("T10", "杨枝甘露", "果茶", "21.00", 5, 6, 7, 8, 9),
    _p("T11", "满杯红柚", "果茶", "19.00", 5, 6, 7, 8, 9),
    _p("T12", "龙井青团拿铁", "季节限定", "24.00", 3, 4),
    _p("T13", "姜枣暖奶茶", "季节限定", "18.00", 11, 12, 1, 2),
    _p("T14", "金骏眉鲜奶", "奶茶", "20.00"),
)
MERCH = (
    _p("M01", "山茶随行杯", "周边", "59.00"),
    _p("M02", "乌龙茶包礼盒", "茶叶", "89.00"),
    _p("M03", "高山茶礼盒", "茶叶", "168.00"),
    _p("M04", "年度囤茶卡(10杯)", "储值卡", "139.00"),
)
