"""Console fixtures (a pytest plugin): users of each role and a signed-in client."""

from __future__ import annotations

import re

import pytest

from siyu.core.db import unit_of_work
from siyu.staff.models import Staff
from siyu.users.service import create_user

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True, scope="session")
def _quick_argon2():
    """Argon2 with its cheapest cost: the same code path, without 0.4 s per test sign-in."""
    from argon2 import PasswordHasher

    from siyu.users import service

    real = service._hasher
    service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    service._hasher = real


@pytest.fixture
def users() -> dict[str, str]:
    """One user per role (the guide is staff member 'Guide Zhang'); email by role."""
    with unit_of_work() as s:
        guide = Staff(name="Guide Zhang", role="guide")
        other = Staff(name="Guide Li", role="guide")
        s.add_all([guide, other])
        s.flush()
        emails = {}
        for role in ("admin", "operator", "analyst", "guide"):
            email = f"{role}@brand.cn"
            create_user(s, email, PASSWORD, role, staff_id=guide.id if role == "guide" else None)
            emails[role] = email
        emails["guide_staff_id"], emails["other_staff_id"] = guide.id, other.id
    return emails


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', html).group(1)


def error_beside(html: str, field: str) -> str | None:
    """The error message shown right after the input, select or textarea named `field`."""
    found = re.search(
        rf'name="{field}"[^>]*>(?:[^<]|<option[^>]*>[^<]*</option>)*(?:</select>|</textarea>)?'
        rf'<span class="field-error[^"]*"[^>]*data-error-for="{field}">([^<]*)</span>',
        html,
    )
    return found.group(1) if found else None


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture
def signed_in(client, users):
    def as_role(role: str):
        client.cookies.clear()
        response = sign_in(client, users[role])
        assert response.status_code == 303, response.text
        return client

    return as_role
