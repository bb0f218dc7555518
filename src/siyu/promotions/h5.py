"""The customer pages (H5, opened from a message, a poster or a QR code): a coupon to claim, a
flash sale to reserve from, a group buy to open or join, a tiered price to join. Public, in the
customer's language, with no script; the customer signs in by WeChat or by an SMS code."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.codes.landing_page import customer_locale
from siyu.core.db import utcnow
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import Conflict, Forbidden, SiyuError, Unauthorized
from siyu.core.i18n import N_, money, translations
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.promotions import coupons, flash, group_buys, h5_signin, members, points, tiered
from siyu.promotions import h5_pages as html
from siyu.promotions.activities import Happened, record
from siyu.promotions.coupon_templates import find_template
from siyu.promotions.models import (
    BuyGroup,
    Coupon,
    CouponTemplate,
    FlashBuyer,
    FlashReservation,
    GroupBuy,
    GroupMember,
)

log = logging.getLogger("siyu.promotions.h5")
router = APIRouter(prefix="/h5", include_in_schema=False)
CSRF = "siyu_h5_csrf"
VIEWED, CLAIMED = "Promotion Page Viewed", "Coupon Claimed"


class Page:
    """One request's page: its language, its customer (if signed in) and its CSRF token."""

    def __init__(self, request: Request, session: Session):
        self.request, self.session = request, session
        headers = request.headers
        self.locale = customer_locale(
            headers.get("accept-language", ""), headers.get("user-agent", "")
        )
        self._: Callable[[str], str] = translations(self.locale).gettext
        self.customer: Customer | None = h5_signin.signed_in(
            session, request.cookies.get(h5_signin.COOKIE)
        )
        sent = request.cookies.get(CSRF, "")
        self.csrf = sent if len(sent) == 32 and sent.isalnum() else secrets.token_hex(16)

    def answer(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        response = HTMLResponse(html.frame(self.locale, title, body), status)
        secure = get_settings().secure_cookies
        response.set_cookie(CSRF, self.csrf, httponly=True, samesite="lax", secure=secure)
        response.headers["Cache-Control"] = "no-store"
        return response

    def failed(self, error: SiyuError, back: str = "") -> HTMLResponse:
        """A refused action as a page naming the field (the 4xx the error carries)."""
        self.session.rollback()
        message = error.read(self._)
        body = html.problem(self._, message, error.field)
        if back:
            body += html.link(safe_next(back), self._("Back"), "back")
        return self.answer(self._("Sorry"), body, error.status)

    def sign_in(self) -> str:
        back_to = self.request.url.path
        wechat = None
        in_wechat = "MicroMessenger" in self.request.headers.get("user-agent", "")
        if in_wechat and h5_signin.has_wechat(get_settings()):
            wechat = f"/h5/wechat?next={back_to}"
        return html.sign_in(
            self._, self.csrf, back_to, wechat_url=wechat, has_sms=h5_signin.has_sms(self.session)
        )

    def viewed(self, page: str) -> None:
        """Opening the page is the customer's own act, recorded once they are known."""
        if self.customer is not None:
            happened = Happened(f"h5-view-{uuid.uuid4().hex}", self.customer.id, {"page": page})
            record(self.session, VIEWED, utcnow(), [happened])


def checked_form(request: Request, form: FormData) -> dict[str, str]:
    """The posted form's fields, once its CSRF token matches the page's cookie. The form is read
    on the event loop (FormDep) and the route is a plain `def`: its database work and the SMS
    gateway's call run in the thread pool, never on the loop."""
    sent = form.get("csrf_token")
    if not sent or sent != request.cookies.get(CSRF):
        raise Forbidden(N_("the page has expired; reload it"), field="csrf_token")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def safe_next(value: str) -> str:
    """Only our own pages are returned to (never another site)."""
    ok = value.startswith("/h5/") and "//" not in value and "\\" not in value
    return value if ok and len(value) < 300 else "/h5/"


def signed_in_answer(session: Session, customer: Customer, to: str) -> Response:
    response = RedirectResponse(safe_next(to), status_code=303)
    response.set_cookie(
        h5_signin.COOKIE,
        h5_signin.session_cookie(session, customer.id),
        max_age=h5_signin.SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/h5",
    )
    return response


def up_one(path: str) -> str:
    return path.rsplit("/", 1)[0]


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """Where a sign-in with nowhere (safe) to return to ends."""
    page = Page(request, session)
    text = page._("Open an offer from our message, poster or QR code.")
    return page.answer(get_settings().brand_name.strip() or page._("Welcome"), html.para(text))


# --- the member's own page ----------------------------------------------------------------------


@router.get("/me")
def member_page(request: Request, session: SessionDep) -> Response:
    """The customer's tier, what is missing to the next one, their points and benefits, and
    the coupons their points buy (会员中心)."""
    page = Page(request, session)
    _ = page._
    title = _("My membership")
    if page.customer is None:
        return page.answer(title, page.sign_in())
    page.viewed("member")
    card = members.member_card(session, page.customer.id)
    facts = [(_("Tier"), card.tier or _("Not a member yet")), (_("Points"), str(card.points))]
    body = html.section(html.rows(facts, "card-rows"), "card")
    if card.next_tier is not None and card.missing is not None:
        if card.basis == "spend":
            missing = money(card.missing, page.locale)
            text = _("%(missing)s more spent to reach %(tier)s")
        else:
            missing, text = str(card.missing), _("%(missing)s more orders to reach %(tier)s")
        body += html.section(
            html.para(text % {"missing": missing, "tier": card.next_tier}), "next-tier"
        )
    if card.benefits:
        body += html.section(
            html.para(_("Your benefits"), "big") + "".join(html.para(b) for b in card.benefits),
            "benefits",
        )
    held = coupons.customer_coupons(session, page.customer.id, usable_only=True)[:20]
    if held:
        codes = "".join(
            html.para(template.name) + f"<p><code>{escape(coupon.code)}</code></p>"
            for coupon, template in held
        )
        body += html.section(
            html.para(_("Your coupons: show a code at checkout"), "big") + codes, "coupons"
        )
    for key, name, price in card.rewards:
        fields = html.hidden("reward", key)
        button = _("%(name)s for %(points)s points") % {"name": name, "points": price}
        body += html.section(html.form("/h5/me/spend", page.csrf, button, fields), "reward")
    return page.answer(title, body)


@router.post("/me/spend")
def spend_points(request: Request, session: SessionDep, posted: FormDep) -> Response:
    """Points spent on a coupon the customer chose: the coupon is theirs to show at checkout."""
    page = Page(request, session)
    try:
        form = checked_form(request, posted)
        points.spend(session, need_customer(page).id, form.get("reward", "")[:64])
    except SiyuError as error:
        return page.failed(error, "/h5/me")
    return RedirectResponse("/h5/me?spent=1", status_code=303)


# --- coupons -------------------------------------------------------------------------------------


@router.get("/coupons/{key}")
def coupon_page(key: str, request: Request, session: SessionDep) -> Response:
    page = Page(request, session)
    _ = page._
    try:
        template = find_template(session, key[:64])
    except SiyuError as error:
        return page.failed(error)
    page.viewed(f"coupon:{template.key}")
    body = html.section(html.para(coupon_value(template, page.locale, _), "price"), "offer")
    facts = []
    if template.stock is not None:
        facts.append((_("Left"), str(max(0, template.stock - template.issued))))
    if template.valid_until is not None:
        facts.append((_("Use by"), html.when(template.valid_until, page.locale)))
    elif template.valid_days:
        facts.append((_("Valid for"), _("%(days)s days") % {"days": template.valid_days}))
    if facts:
        body += html.section(html.rows(facts, "facts"), "facts")
    body += coupon_action(page, template)
    return page.answer(template.name, body)


def coupon_value(template: CouponTemplate, locale: str, _: Callable[[str], str]) -> str:
    if template.kind == "percent":
        text = _("%(percent)s%% off") % {"percent": template.percent}
    elif template.kind == "gift":
        text = _("A free %(item)s") % {"item": template.free_item or ""}
    else:
        text = _("%(amount)s off") % {"amount": money(template.amount_fen, locale)}
    if template.threshold_fen:
        text += " · " + _("on orders of %(least)s or more") % {
            "least": money(template.threshold_fen, locale)
        }
    return text


def coupon_action(page: Page, template: CouponTemplate) -> str:
    _ = page._
    if page.customer is None:
        return page.sign_in()
    held = page.session.scalars(
        select(Coupon.code).where(
            Coupon.template_id == template.id, Coupon.customer_id == page.customer.id
        )
    ).all()
    if held:
        codes = "".join(f"<p><code>{escape(code)}</code></p>" for code in held)
        return html.section(
            html.para(_("Your coupon is ready. Show this code at checkout:")) + codes,
            "claimed",
            "done",
        )
    if not template.claimable or template.status != "active":
        return html.section(html.para(_("This coupon cannot be claimed here.")), "closed")
    return html.section(
        html.form(f"/h5/coupons/{template.key}/claim", page.csrf, _("Claim")), "claim"
    )


@router.post("/coupons/{key}/claim")
def claim(key: str, request: Request, session: SessionDep, posted: FormDep) -> Response:
    page = Page(request, session)
    try:
        checked_form(request, posted)
        customer = need_customer(page)
        issued = coupons.issue(session, key[:64], [customer.id], via="claim", claim=True)
        if not issued.coupons:
            return page.failed(refused(issued.skipped), up_one(request.url.path))
        happened = Happened(f"coupon-claimed-{issued.coupons[0].id}", customer.id, {"coupon": key})
        record(session, CLAIMED, utcnow(), [happened])
    except SiyuError as error:
        return page.failed(error, up_one(request.url.path))
    return RedirectResponse(up_one(request.url.path), status_code=303)


def refused(skipped: Counter[str]) -> SiyuError:
    if skipped.get("out_of_stock"):
        return Conflict(N_("all the coupons have been claimed"), field="key")
    return Conflict(N_("you have claimed this coupon already"), field="key")


def need_customer(page: Page) -> Customer:
    if page.customer is None:
        raise Unauthorized(N_("sign in first"), field="customer")
    return page.customer


# --- flash sales ---------------------------------------------------------------------------------


@router.get("/flash/{key}")
def flash_page(key: str, request: Request, session: SessionDep) -> Response:
    page = Page(request, session)
    _ = page._
    try:
        sale = flash.find_sale(session, key[:64])
    except SiyuError as error:
        return page.failed(error)
    page.viewed(f"flash:{sale.key}")
    now = utcnow()
    counts = flash.summary(sale, now)
    body = html.section(
        html.price(sale.price_fen, page.locale, sale.list_price_fen)
        + html.rows(
            [
                (_("Left"), str(counts["available"])),
                (_("Each customer"), _("at most %(limit)s") % {"limit": sale.per_customer}),
                (_("Ends"), html.when(sale.ends_at, page.locale)),
            ],
            "facts",
        ),
        "offer",
    )
    if page.customer is None:
        return page.answer(sale.name, body + page.sign_in())
    held = session.scalars(
        select(FlashReservation).where(
            FlashReservation.sale_id == sale.id,
            FlashReservation.customer_id == page.customer.id,
            FlashReservation.status == "held",
            FlashReservation.expires_at > now,
        )
    ).all()
    for reservation in held:
        body += reservation_block(page, sale.key, reservation)
    bought = session.scalar(
        select(FlashBuyer.quantity).where(
            FlashBuyer.sale_id == sale.id, FlashBuyer.customer_id == page.customer.id
        )
    )
    if not counts["live"]:
        body += html.section(html.para(_("This sale is not on now.")), "closed")
    elif (bought or 0) >= sale.per_customer:
        body += html.section(html.para(_("You have your share of this sale.")), "limit")
    elif counts["available"] <= 0:
        body += html.section(html.para(_("Sold out.")), "sold-out")
    else:
        body += html.section(
            html.form(f"/h5/flash/{sale.key}/reserve", page.csrf, _("Reserve")), "reserve"
        )
    return page.answer(sale.name, body)


def reservation_block(page: Page, sale_key: str, reservation: FlashReservation) -> str:
    _ = page._
    until = html.when(reservation.expires_at, page.locale)
    text = _("Reserved for you until %(until)s.") % {"until": until}
    onward = html.para(_("Show this reservation code in store before it expires:")) + (
        f"<p><code>R{reservation.id}</code></p>"
    )
    mall = get_settings().mall_url
    if mall:  # or pay in the mall, which confirms the reservation by its id
        query = {
            "flash_sale": sale_key,
            "reservation": str(reservation.id),
            "customer": str(reservation.customer_id),
        }
        onward += html.link(
            f"{mall}{'&' if '?' in mall else '?'}{urlencode(query)}", _("Pay in our mall"), "mall"
        )
    return html.section(html.para(text, "big") + onward, "reserved", "done")


@router.post("/flash/{key}/reserve")
def reserve(key: str, request: Request, session: SessionDep, posted: FormDep) -> Response:
    page = Page(request, session)
    try:
        checked_form(request, posted)
        flash.reserve(session, key[:64], need_customer(page).id)
    except SiyuError as error:
        return page.failed(error, up_one(request.url.path))
    return RedirectResponse(up_one(request.url.path), status_code=303)


# --- group buys ----------------------------------------------------------------------------------


@router.get("/groups/{key}")
def group_buy_page(key: str, request: Request, session: SessionDep) -> Response:
    page = Page(request, session)
    _ = page._
    try:
        activity = group_buys.find_group_buy(session, key[:64])
    except SiyuError as error:
        return page.failed(error)
    page.viewed(f"group-buy:{activity.key}")
    body = html.section(
        html.price(activity.price_fen, page.locale)
        + html.para(
            _("%(size)s people make a group; %(hours)s hours to fill it.")
            % {"size": activity.size, "hours": activity.hours}
        ),
        "offer",
    )
    if page.customer is None:
        return page.answer(activity.name, body + page.sign_in())
    if not group_buys.is_live(activity):
        return page.answer(
            activity.name,
            body + html.section(html.para(_("This group buy is not on now.")), "closed"),
        )
    mine = open_groups_of(session, activity.id, page.customer.id)
    if mine:
        body += html.section(
            "".join(html.link(f"/h5/g/{code}", _("Your group"), "mine") for code in mine), "mine"
        )
    action = to_mall(
        page,
        {"group_buy": activity.key},
        f"/h5/groups/{activity.key}",
        _("Open a group"),
        _("Tell the store you open a group of %(name)s (group buy %(key)s).")
        % {"name": activity.name, "key": activity.key},
    )
    return page.answer(activity.name, body + html.section(action, "open"))


def open_groups_of(session: Session, activity_id: int, customer_id: int) -> list[str]:
    """The codes of the open groups this customer leads or is in, in this group buy."""
    found = (
        select(BuyGroup.code)
        .join(GroupMember, GroupMember.group_id == BuyGroup.id)
        .where(
            BuyGroup.group_buy_id == activity_id,
            BuyGroup.status == "open",
            GroupMember.customer_id == customer_id,
        )
        .order_by(BuyGroup.id)
    )
    return list(session.scalars(found))


def to_mall(page: Page, activity: dict[str, str], back: str, button: str, in_store: str) -> str:
    """A place in a group or a tiered price is the order that pays for it: the button takes the
    customer to the brand's mall (`SIYU_MALL_URL`) with the activity, the customer and the page
    to come back to; the mall takes the payment and tells Siyu (its API, or the order's `Order
    Completed` naming the activity). Without a mall, the page says what to tell the store."""
    mall = get_settings().mall_url
    if not mall:
        log.warning("the customer pages link to no mall: set SIYU_MALL_URL (the mall's checkout)")
        return html.para(in_store, "big")
    assert page.customer is not None
    base = get_settings().public_base(str(page.request.base_url))
    query = {**activity, "customer": str(page.customer.id), "back": f"{base}{back}"}
    joiner = "&" if "?" in mall else "?"
    return html.link(f"{mall}{joiner}{urlencode(query)}", button, "to-mall")


@router.get("/g/{code}")
def group_page(code: str, request: Request, session: SessionDep) -> Response:
    page = Page(request, session)
    _ = page._
    try:
        group = group_buys.find_group(session, code[:32])
    except SiyuError as error:
        return page.failed(error)
    activity = session.get_one(GroupBuy, group.group_buy_id)
    page.viewed(f"group:{activity.key}")
    now = utcnow()
    members = session.scalars(
        select(GroupMember).where(GroupMember.group_id == group.id).order_by(GroupMember.id)
    ).all()
    body = html.section(
        html.price(activity.price_fen, page.locale) + progress(page, group, now), "progress"
    )
    body += html.section(member_list(page, members, group), "members")
    mine = page.customer is not None and any(m.customer_id == page.customer.id for m in members)
    if mine and group.status == "open":
        share = f"{get_settings().public_base(str(request.base_url))}/h5/g/{group.code}"
        body += html.section(
            html.para(_("Share this page with friends to fill the group:"))
            + f'<p><code data-test="share">{escape(share)}</code></p>',
            "share",
        )
    elif group.status == "open" and group.deadline > now:
        if page.customer is None:
            body += page.sign_in()
        else:
            body += html.section(
                to_mall(
                    page,
                    {"group_buy": activity.key, "group": group.code},
                    f"/h5/g/{group.code}",
                    _("Join the group"),
                    _("Tell the store you join group %(code)s.") % {"code": group.code},
                ),
                "join",
            )
    return page.answer(activity.name, body)


def progress(page: Page, group: BuyGroup, now: datetime) -> str:
    _ = page._
    shown = {
        "succeeded": _("The group is complete!"),
        "failed": _("The group did not fill in time."),
    }
    if group.status in shown:
        state = html.para(shown[group.status], "big")
    else:
        needed = max(0, group.size - group.members)
        state = html.para(
            _("%(needed)s more needed · %(left)s")
            % {"needed": needed, "left": html.time_left(group.deadline, now, _)},
            "big",
        )
    bar = f'<progress max="{group.size}" value="{group.members}"></progress>'
    count = html.para(
        _("%(members)s of %(size)s joined") % {"members": group.members, "size": group.size},
        "muted",
    )
    return state + bar + count


def member_list(page: Page, members: Sequence[GroupMember], group: BuyGroup) -> str:
    _ = page._
    names = []
    for member in members:
        who = _("Leader") if member.is_leader else _("Member")
        if page.customer is not None and member.customer_id == page.customer.id:
            who += " · " + _("you")
        names.append((who, html.when(member.joined_at, page.locale)))
    for _place in range(max(0, group.size - len(members) - group.robot_filled)):
        names.append((_("Open place"), ""))
    return html.rows(names, "member-rows")


# --- tiered prices -------------------------------------------------------------------------------


@router.get("/tiered/{key}")
def tiered_page(key: str, request: Request, session: SessionDep) -> Response:
    page = Page(request, session)
    _ = page._
    try:
        activity = tiered.find_tiered(session, key[:64])
    except SiyuError as error:
        return page.failed(error)
    page.viewed(f"tiered:{activity.key}")
    facts = tiered.summary(activity)
    steps = [
        (_("From %(n)s people") % {"n": n}, money(fen, page.locale)) for n, fen in activity.tiers
    ]
    body = html.section(
        html.price(facts["current_price_fen"], page.locale, activity.base_price_fen)
        + html.para(_("Taking part: %(n)s") % {"n": activity.participants}, "big")
        + html.rows(steps, "tiers"),
        "offer",
    )
    if page.customer is None:
        return page.answer(activity.name, body + page.sign_in())
    if tiered.takes_part(session, activity, page.customer.id):
        body += html.section(
            html.para(_("You take part. The final price is set when the activity ends.")),
            "joined",
            "done",
        )
    elif facts["live"]:
        body += html.section(
            to_mall(
                page,
                {"tiered": activity.key},
                f"/h5/tiered/{activity.key}",
                _("Join"),
                _("Tell the store you join %(name)s (%(key)s).")
                % {"name": activity.name, "key": activity.key},
            ),
            "join",
        )
    else:
        body += html.section(html.para(_("This activity is not on now.")), "closed")
    return page.answer(activity.name, body)


# --- signing in ----------------------------------------------------------------------------------


@router.get("/wechat")
def wechat_start(request: Request, session: SessionDep, next: str = "/h5/") -> Response:
    page = Page(request, session)
    callback = f"{get_settings().public_base(str(request.base_url))}/h5/wechat/callback"
    try:
        url = h5_signin.authorize_url(session, callback, safe_next(next))
    except SiyuError as error:
        return page.failed(error)
    return RedirectResponse(url, status_code=302)


@router.get("/wechat/callback")
def wechat_callback(
    request: Request, session: SessionDep, code: str = "", state: str = ""
) -> Response:
    page = Page(request, session)
    try:
        customer, back_to = h5_signin.wechat_customer(session, code, state[:400])
    except SiyuError as error:
        return page.failed(error)
    return signed_in_answer(session, customer, back_to)


@router.post("/phone/code")
def phone_code(request: Request, session: SessionDep, posted: FormDep) -> Response:
    page = Page(request, session)
    _ = page._
    form: dict[str, str] = {}
    try:
        form = checked_form(request, posted)
        client = request.client.host if request.client else "-"
        phone = h5_signin.send_code(session, form.get("phone", ""), client)
    except SiyuError as error:
        return page.failed(error, safe_next(form.get("next", "")))
    back_to = safe_next(form.get("next", ""))
    return page.answer(_("Sign in"), html.code_form(_, page.csrf, phone, back_to))


@router.post("/phone/verify")
def phone_verify(request: Request, session: SessionDep, posted: FormDep) -> Response:
    page = Page(request, session)
    _ = page._
    form: dict[str, str] = {}
    try:
        form = checked_form(request, posted)
        customer = h5_signin.check_code(session, form.get("phone", ""), form.get("code", "")[:16])
    except SiyuError as error:
        if error.field == "code":  # the attempt counts: answered, so the request commits it
            body = html.problem(_, error.read(_), error.field) + html.code_form(
                _, page.csrf, form.get("phone", ""), safe_next(form.get("next", ""))
            )
            return page.answer(_("Sign in"), body, error.status)
        return page.failed(error, safe_next(form.get("next", "")))
    return signed_in_answer(session, customer, form.get("next", ""))
