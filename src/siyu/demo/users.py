"""Console users for the demo brand: one per role, with a password printed for a newcomer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.customers.models import Customer
from siyu.staff.models import Staff
from siyu.users.models import User
from siyu.users.service import create_user

# The demo listens on 127.0.0.1 only; its password is printed and documented on purpose.
PASSWORD = "shancha-demo"
DOMAIN = "shancha.demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    password: str = PASSWORD


def _busiest_guide(session: Session) -> int | None:
    """The guide who owns the most customers: the most to look at when signed in as a guide."""
    return session.scalar(
        select(Customer.owner_id)
        .join(Staff, Staff.id == Customer.owner_id)
        .where(Staff.role == "guide")
        .group_by(Customer.owner_id)
        .order_by(func.count().desc(), Customer.owner_id)
        .limit(1)
    )


# The brand is Chinese: its people's names are too (the guide signs in as the guide they are).
NAMES = {"admin": "演示管理员", "operator": "演示运营", "analyst": "演示分析师"}


def ensure_demo_users(session: Session) -> list[DemoUser]:
    """admin@, operator@, analyst@ and guide@shancha.demo, created once."""
    made = []
    for role in ("admin", "operator", "analyst", "guide"):
        email = f"{role}@{DOMAIN}"
        staff_id = _busiest_guide(session) if role == "guide" else None
        if role == "guide" and staff_id is None:
            continue
        if session.scalar(select(User.id).where(User.email == email)) is None:
            name = NAMES[role] if staff_id is None else session.get_one(Staff, staff_id).name
            create_user(session, email, PASSWORD, role, name=name, staff_id=staff_id)
        made.append(DemoUser(email, role))
    return made
