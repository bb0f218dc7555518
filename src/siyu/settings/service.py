"""Settings: API tokens, console users and the audit log, as the settings pages use them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import i18n
from siyu.core.audit import AuditEntry
from siyu.core.auth import ROLES, TOKEN_ROLES, ApiToken, create_token
from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.core.settings import get_settings
from siyu.settings import labels
from siyu.staff.models import Staff, Store
from siyu.touchpoints.models import Touchpoint
from siyu.users import service as users
from siyu.users.models import User

AUDIT_PAGE = 50
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


# --- API tokens ---------------------------------------------------------------------------


def issue_token(
    session: Session, name: str, role: str, staff_id: int | None = None
) -> tuple[ApiToken, str]:
    """A management API token; a guide's token sees only its staff member's customers."""
    name = name.strip()
    if not name:
        raise InvalidInput(N_("a name is required"), field="name")
    _check_staff(session, role, staff_id, TOKEN_ROLES)
    return create_token(session, name, role, staff_id if role == "guide" else None)


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(N_("no such API token"), field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


# --- console users ------------------------------------------------------------------------


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.is_active.desc(), User.email)))


def find_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("no such user"), field="user_id")
    return user


def sign_in_delays(session: Session, people: list[User]) -> dict[int, datetime]:
    """Users whose sign-ins wait after failed tries, and until when."""
    found = ((p.id, users.sign_in_delay(session, p.email)) for p in people)
    return {user_id: until for user_id, until in found if until}


def change_role(session: Session, user_id: int, role: str, staff_id: int | None) -> User:
    """A new role; a guide needs the staff member whose customers they see."""
    user = find_user(session, user_id)
    staff_id = staff_id or (user.staff_id if role == "guide" else None)
    _check_staff(session, role, staff_id)
    if user.role == "admin" and role != "admin":
        _keep_an_admin(session, user)
    user.role = role
    user.staff_id = staff_id if role == "guide" else user.staff_id
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool, acting: User) -> User:
    """Deactivate (they can no longer sign in, their sessions end) or reactivate a user."""
    user = find_user(session, user_id)
    if not active and user.id == acting.id:
        raise Conflict(N_("you cannot deactivate yourself"), field="user_id")
    if not active and user.role == "admin":
        _keep_an_admin(session, user)
    user.is_active = active
    session.flush()
    return user


def unlock(session: Session, user_id: int) -> User:
    """Let this user sign in again at once after too many failed tries for their account."""
    user = find_user(session, user_id)
    users.lift_sign_in_delay(session, user.email)
    return user


def staff_choices(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).order_by(Staff.name, Staff.id)))


def staff_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in session.execute(select(Staff.id, Staff.name))}


def _check_staff(
    session: Session, role: str, staff_id: int | None, roles: tuple[str, ...] = ROLES
) -> None:
    if role not in roles:
        raise InvalidInput(N_("choose one of the roles"), field="role")
    if role != "guide":
        return
    if staff_id is None:
        raise InvalidInput(
            N_("a guide must be linked to an existing staff member"), field="staff_id"
        )
    if session.get(Staff, staff_id) is None:
        raise InvalidInput(
            N_("a guide must be linked to an existing staff member"), field="staff_id"
        )


def _keep_an_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count(User.id)).where(
            User.role == "admin", User.is_active.is_(True), User.id != leaving.id
        )
    )
    if not others:
        raise Conflict(N_("Siyu needs at least one active admin"), field="role")


# --- the audit log ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    entity: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None  # the keyset cursor of the next (older) page


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str
    after: str
    trait: str | None = None  # one of a customer's traits, which change one by one


def audit_page(
    session: Session, wanted: AuditFilter, before: int | None = None, size: int = AUDIT_PAGE
) -> AuditPage:
    """Newest first, `size` at a time; `before` is the id the previous page ended at."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(size + 1)
    if wanted.actor:
        query = query.where(func.lower(AuditEntry.actor).contains(wanted.actor.strip().lower()))
    if wanted.entity:
        query = query.where(AuditEntry.entity == wanted.entity)
    if wanted.since:
        query = query.where(AuditEntry.at >= _local_midnight(wanted.since))
    if wanted.until:
        query = query.where(AuditEntry.at < _local_midnight(wanted.until + timedelta(days=1)))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(rows, rows[-1].id if more else None)


def audit_entities(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def audit_actors(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))


def field_changes(
    entry: AuditEntry, locale: str, names: labels.TraitDictionary = labels.BUILT_IN
) -> list[FieldChange]:
    """The fields a change touched, old and new, as a person reads them (brand-zone times;
    a customer's traits one by one, by the names of the trait dictionary)."""
    before, after = entry.before or {}, entry.after or {}
    fields = [n for n in dict.fromkeys([*before, *after]) if n != "id"]
    changes = []
    for name in fields:
        old, new = before.get(name), after.get(name)
        if name == "traits" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            changes += _trait_changes(old or {}, new or {}, locale, names)
            continue
        change = FieldChange(name, shown(old, locale), shown(new, locale))
        if entry.action == "insert" and new is None:
            continue
        if entry.action == "update" and change.before == change.after:
            continue
        changes.append(change)
    return changes


def _trait_changes(
    old: dict, new: dict, locale: str, names: labels.TraitDictionary
) -> list[FieldChange]:
    def value(traits: dict, key: str) -> str:
        return names.trait_value(traits[key], key, locale) if key in traits else ""

    keys = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
    return [FieldChange("traits", value(old, k), value(new, k), trait=k) for k in keys]


def shown(value: object, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return i18n.translations(locale).gettext(N_("yes") if value else N_("no"))
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return i18n.local_datetime(datetime.fromisoformat(value), locale)
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def store_names(session: Session) -> dict[int, str]:
    return {row.id: row.name for row in session.execute(select(Store.id, Store.name))}


def touchpoint_names(session: Session, codes: set[str]) -> dict[str, str]:
    """The names of those of `codes` that are touchpoints' codes."""
    wanted = [code for code in codes if code][:500]
    query = select(Touchpoint.code, Touchpoint.name).where(Touchpoint.code.in_(wanted))
    return {row.code: row.name for row in session.execute(query)} if wanted else {}


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=get_settings().zone)
