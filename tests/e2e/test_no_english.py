"""No English on a Chinese page: an admin and a guide walk every page of the navigation and the
pages one click below it (a list's first detail page, a settings section, a report) in zh-CN,
and no common English UI word shows outside code, ids and the brand's own data. The same walk in
English checks that every page renders."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import JSON, String, select

from siyu.broadcasts import service as broadcasts
from siyu.codes.service import create_code
from siyu.core.audit import acting_as
from siyu.core.db import session_factory, unit_of_work
from siyu.customers.service import find_customer
from siyu.events import inbox
from siyu.models import metadata
from siyu.promotions import flash, group_buys, tiered
from siyu.promotions import service as promotions
from siyu.segments.service import create_segment
from siyu.settings import labels
from siyu.staff.service import create_store
from siyu.tags.service import ensure_tag, tag_customer
from siyu.tasks.service import create_task
from siyu.touchpoints.service import register
from tests.e2e.conftest import SCREENSHOTS

# Words a console shows when a message missed its translation (matched as whole words, as
# written and in lower case).
ENGLISH = (
    "Save",
    "Delete",
    "Remove",
    "Edit",
    "Add",
    "Create",
    "Cancel",
    "Submit",
    "Confirm",
    "Close",
    "Back",
    "Next",
    "Previous",
    "Search",
    "Filter",
    "Clear",
    "Reset",
    "Apply",
    "Refresh",
    "Preview",
    "Export",
    "Import",
    "Download",
    "Upload",
    "Loading",
    "Name",
    "Status",
    "Total",
    "Count",
    "Customers",
    "Customer",
    "Segment",
    "Segments",
    "Report",
    "Reports",
    "Orders",
    "Order",
    "Store",
    "Stores",
    "Guide",
    "Guides",
    "Task",
    "Tasks",
    "Tags",
    "Touchpoint",
    "Touchpoints",
    "Settings",
    "Users",
    "Role",
    "Email",
    "Password",
    "Phone",
    "Gender",
    "City",
    "Birthday",
    "Male",
    "Female",
    "Unknown",
    "None",
    "True",
    "False",
    "Yes",
    "Thank you",
    "Sign in",
    "Sign out",
    "Home",
    "Dashboard",
    "Overview",
    "Details",
    "Actions",
    "Action",
    "Type",
    "Value",
    "Source",
    "Events",
    "Event",
    "Revenue",
    "Average",
    "Today",
    "Yesterday",
    "Week",
    "Month",
    "Created",
    "Updated",
    "Owner",
    "Members",
    "Channel",
    "Campaign",
    "Funnel",
    "Retention",
    "Error",
    "Warning",
    "Empty",
    "No data",
    "Page",
    "Show",
    "Hide",
    "More",
    "Active",
    "Inactive",
    "Open",
    "Closed",
    "Done",
    "Pending",
    "Running",
    "Failed",
    "Queued",
    "Identified",
    "Completed",
    "Refunded",
    "Viewed",
    "Scanned",
    "Added",
    "Joined",
    "Sent",
)
# Names that stay in English in Chinese text: the tracking spec Siyu speaks is called Segment.
PROPER_NOUNS = {"Segment"}
_WORDS = sorted({w for word in ENGLISH for w in (word, word.lower())}, key=len, reverse=True)
# A word among words: not inside an id, a code, a path, an address or a file name.
FOUND = re.compile(r"(?<![\w\-./@:#=])(" + "|".join(map(re.escape, _WORDS)) + r")(?![\w\-/@:=])")

# The page's visible text, without code, ids and what the browser does not show.
VISIBLE_TEXT = """() => {
  // [lang]: text the page itself says is in another language (the language switch, a name's
  // English form beside its Chinese one)
  const skip = "code, pre, kbd, samp, script, style, noscript, svg, template, textarea, " +
    "[lang]:not([lang^=zh]):not(html)";
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip) || !node.textContent.trim()) continue;
    const box = el.closest("option") ? el.closest("select") : el;
    if (box && box.checkVisibility()) out.push(node.textContent);
  }
  for (const el of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (el.checkVisibility()) out.push(el.placeholder);
  }
  for (const el of document.querySelectorAll("input[type=submit], input[type=button]")) {
    if (el.checkVisibility()) out.push(el.value);
  }
  return out.join("\\n");
}"""
# Links that lead away from the console's pages, or to a file, or change something.
AWAY = re.compile(
    r"^/(logout|lang|static|docs|openapi|api|v1|q|wecom/callback|wechat/callback)\b"
    r"|\.(csv|png|svg|xlsx|json|zip)$|/(export|download|qr)\b"
)
PER_PAGE = 12  # pages one click below a page of the navigation, one per kind of link
# The brand's own words: names, titles and texts it typed, shown as they are.
BRAND_COLUMNS = {
    "name",
    "title",
    "description",
    "message",
    "instructions",
    "welcome_message",
    "code",
    "key",
    "email",
    "city",
    "file",
    "value",
    "url",
    "zh",
    "en",
    "target",
    "reason",
    "text",  # a message's text and subject (message_contents): the brand's templates
    "subject",
}


@pytest.fixture(scope="module")
def walked_brand(loaded_brand):
    """The e2e brand, with what the pages show in words: traits, events, a store, a touchpoint,
    a tag, a segment, a channel code, a guide task, a draft broadcast, a coupon template and a
    flash sale."""
    b = loaded_brand
    traits = {"gender": "female", "city": "武汉", "birthday": "1990-05-12"}
    batch = [
        {"type": "identify", "userId": "c-wang", "traits": traits, "messageId": "walk-1"},
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "c-wang",
            "messageId": "walk-2",
            "properties": {"order_id": "walk-o1", "revenue": "199.00", "touchpoint": "walk-qr"},
            "context": {"touchpoint": "walk-qr"},
        },
        {"type": "page", "userId": "c-li", "name": "首页", "messageId": "walk-3"},
    ]
    sent = httpx.post(f"{b.url}/v1/batch", json={"batch": batch}, auth=(b.write_key, ""))
    assert sent.status_code == 200, sent.text
    inbox.process_all(session_factory(b.database))
    with acting_as("e2e"), unit_of_work(b.database) as s:
        if s.scalar(select(metadata.tables["stores"].c.id).limit(1)) is None:
            store = create_store(s, "walk-store", "武汉光谷店", "武汉")
            register(s, "walk-qr", "光谷店柜台码", group="store", store_id=store.id)
        tag = ensure_tag(s, "高意向", "behaviour")
        tag_customer(s, find_customer(s, "c-wang").id, tag.id)
        if s.scalar(select(metadata.tables["segments"].c.id).limit(1)) is None:
            create_segment(s, "walk-high", "高意向客户", {"tag": "高意向"})
        if s.scalar(select(metadata.tables["channel_codes"].c.id).limit(1)) is None:
            store_id = s.scalar(select(metadata.tables["stores"].c.id).limit(1))
            create_code(s, "光谷店海报码", target="https://brand.example/", store_id=store_id)
        if s.scalar(select(metadata.tables["guide_tasks"].c.id).limit(1)) is None:
            customers = [b.customers["c-wang"], b.customers["c-li"]]
            due = date.today() + timedelta(days=3)
            create_task(s, "会员日回访", due, "e2e", customer_ids=customers, message="您好")
        if s.scalar(select(metadata.tables["broadcasts"].c.id).limit(1)) is None:
            broadcasts.create(
                s,
                name="会员日群发",
                actor="e2e",
                channels=["wecom", "sms"],
                variants=[broadcasts.VariantSpec(text="会员日到店有礼")],
                customer_ids=[b.customers["c-wang"], b.customers["c-li"]],
                holdout_percent=10,
            )
        if s.scalar(select(metadata.tables["coupon_templates"].c.id).limit(1)) is None:
            promotions.create_template(
                s,
                "walk-coupon",
                "会员日满减券",
                "threshold",
                amount_fen=5000,
                threshold_fen=30000,
                valid_days=30,
            )
        if s.scalar(select(metadata.tables["flash_sales"].c.id).limit(1)) is None:
            now = datetime.now(UTC)
            flash.create_sale(
                s,
                "walk-cup",
                "会员日保温杯",
                "CUP-500",
                9900,
                50,
                1,
                now - timedelta(hours=1),
                now + timedelta(days=1),
            )
        now = datetime.now(UTC)
        if s.scalar(select(metadata.tables["group_buys"].c.id).limit(1)) is None:
            group_buys.create_group_buy(
                s, "walk-tea", "会员日三人团", "TEA-SET", 7900, 3, 24,
                now - timedelta(hours=1), now + timedelta(days=1),
            )  # fmt: skip
            group_buys.open_group(s, "walk-tea", b.customers["c-wang"], "walk-tea-1", 7900)
        if s.scalar(select(metadata.tables["tiered_prices"].c.id).limit(1)) is None:
            tiered.create_tiered(
                s, "walk-cooker", "会员日阶梯价", "COOKER-3L", 9900, [(2, 8900)],
                now - timedelta(hours=1), now + timedelta(days=1),
            )  # fmt: skip
            tiered.join(s, "walk-cooker", b.customers["c-li"], "walk-cooker-1")
    return b


def brand_words(database: str) -> list[str]:
    """Every name, title and text the brand typed, and its customers' trait values."""
    found: set[str] = set()
    with unit_of_work(database) as s:
        names = labels.dictionary(s)
        for table in metadata.sorted_tables:
            for column in table.columns:
                if column.name in BRAND_COLUMNS and isinstance(column.type, String):
                    query = select(column).distinct().where(column.is_not(None)).limit(5000)
                    found |= {str(v) for v in s.scalars(query) if v}
        traits = metadata.tables["customers"].c.traits
        for row in s.scalars(select(traits).limit(5000)):
            # a coded value the trait dictionary names (gender: female) must show by its name
            values = ((k, v) for k, v in (row or {}).items() if isinstance(v, str | int))
            found |= {str(v) for k, v in values if names.label(k, str(v)) is None}
        # A journey's definition is the brand's JSON (its keys are the journey language's own
        # words, docs/journeys.md): the audit log shows it as written.
        definitions = metadata.tables["journey_versions"].c.definition
        # Short keys ("id") are left out: taken away from the page's text they would split
        # words that hold them ("openid").
        for definition in s.scalars(select(definitions).limit(500)):
            found |= {w for w in _json_words(definition) if len(w) > 3}
    assert isinstance(traits.type, JSON)
    return sorted((w for w in found if len(w) > 1), key=len, reverse=True)


def _json_words(value) -> list[str]:
    """The keys and text values of a JSON document."""
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in (str(k), *_json_words(v))]
    if isinstance(value, list):
        return [w for item in value for w in _json_words(item)]
    return [value] if isinstance(value, str) else []


def english_words(text: str, brand: list[str]) -> list[str]:
    for word in brand:
        if word in text:
            text = text.replace(word, " ")
    return sorted({m.group(1) for m in FOUND.finditer(text)} - PROPER_NOUNS)


def shape(href: str) -> str:
    """A link's kind: its path with numbers as N, and its query's names."""
    parts = urlsplit(href)
    names = sorted(name for name, _ in parse_qsl(parts.query))
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(names)


def links(page, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")
    inside = [h for h in hrefs if h and h.startswith("/") and not h.startswith("//")]
    return [h.split("#", 1)[0] for h in inside if not AWAY.search(urlsplit(h).path)]


def walk(console) -> dict[str, int]:
    """Every page of the navigation and one of each kind of link below it, with its status."""
    page, seen, below = console.page, {}, []
    nav = list(dict.fromkeys(links(page, "nav.nav a")))
    for href in nav:
        seen[href] = visit(console, href)
        kinds: dict[str, str] = {}
        for link in links(page, ".content a[href]"):
            if link not in nav and link not in seen and shape(link) not in kinds:
                kinds[shape(link)] = link
        below += list(kinds.values())[:PER_PAGE]
    for href in dict.fromkeys(below):
        if href not in seen:
            seen[href] = visit(console, href)
    return seen


def visit(console, href: str) -> int:
    response = console.page.goto(console.url + href)
    console.page.wait_for_load_state("networkidle")
    console.found[href] = console.page.evaluate(VISIBLE_TEXT)
    if console.shots:
        console.shot(href.strip("/") or "home")
    return response.status if response else 0


@pytest.fixture
def walker(console):
    console.found, console.shots = {}, True
    return console


@pytest.mark.parametrize("role", ["admin", "guide"])
def test_no_english_on_a_chinese_page(walker, walked_brand, role):
    walker.sign_in(walked_brand.admin if role == "admin" else walked_brand.guide)
    statuses = walk(walker)
    assert walker.lang == "zh-CN"
    broken = {href: status for href, status in statuses.items() if status >= 400}
    assert not broken, f"pages that did not open: {broken}"
    brand = brand_words(walked_brand.database)
    english = [
        (href, word) for href, text in walker.found.items() for word in english_words(text, brand)
    ]
    assert len(statuses) > (10 if role == "admin" else 3), sorted(statuses)
    if english:  # what each page said, beside the screenshots, to find the words in context
        SCREENSHOTS.mkdir(exist_ok=True)
        said = "\n\n".join(f"== {href}\n{text}" for href, text in walker.found.items())
        (SCREENSHOTS / f"no-english-{role}.txt").write_text(said)
    assert not english, "English on Chinese pages:\n" + "\n".join(
        f"  {href}: {word}" for href, word in english
    )


@pytest.mark.parametrize("role", ["admin", "guide"])
def test_every_page_renders_in_english(walker, walked_brand, role):
    walker.shots = False
    walker.sign_in(walked_brand.admin if role == "admin" else walked_brand.guide)
    walker.submit("[data-test=lang-switch]", "english")
    statuses = walk(walker)
    broken = {href: status for href, status in statuses.items() if status >= 400}
    assert not broken, f"pages that did not open in English: {broken}"
    assert walker.lang == "en"
    assert all("Customers" in text for text in walker.found.values())


def test_the_check_finds_english_words_but_not_ids_paths_or_the_brands_words():
    assert english_words("点击 Save 保存；状态：none", []) == ["Save", "none"]
    assert english_words("Thank you!", []) == ["Thank you"]
    assert english_words("is_active walk-store /api/orders order_id Name@brand.cn", []) == []
    assert english_words("门店 Store A 的柜台码", ["Store A"]) == []
    assert english_words("JSONL：每行一条 Segment 消息", []) == []
    assert shape("/customers/12?period=7&page=2") == "/customers/N?page&period"
