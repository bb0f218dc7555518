"""Browser tests: `siyu serve` in a subprocess on a free loopback port, a small brand loaded through
the tracking API, and Debian's chromium driven by Playwright. Every page visited is saved as a
full-page screenshot, desktop and phone width, in tests/e2e/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from sqlalchemy import text, update

from siyu.core import db
from siyu.core.audit import acting_as
from siyu.core.auth import create_token
from siyu.core.db import session_factory, unit_of_work
from siyu.customers.service import find_customer
from siyu.events import inbox
from siyu.events.sources import create_key
from siyu.staff.service import assign_owner, create_staff
from siyu.users import service as user_service
from siyu.users.models import User

CHROMIUM = "/usr/bin/chromium"  # Debian's; .ci/run installs it when it is missing
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}
PASSWORD = "correct horse 42"
START_SECONDS = 60
_server_logs: list[Path] = []  # shown beside a failed flow: what the server said


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _siyu_command() -> str:
    found = shutil.which("siyu", path=str(Path(sys.executable).parent)) or shutil.which("siyu")
    if found is None:
        pytest.fail("the `siyu` command is not installed: run `make install`")
    return found


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`siyu serve` exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"`siyu serve` did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


@contextmanager
def own_database(database_url: str, home: Path, name: str) -> Iterator[str]:
    """A database of the suite's kind that only one server and its flows use: a SQLite file in
    `home`, or on PostgreSQL the schema `<suite's>_<name>`, dropped when the block ends."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{home / 'siyu.db'}"
        return
    suite_schema = re.search(r"search_path%3D(\w+)", database_url).group(1)
    schema = f"{suite_schema}_{name}"
    with db.get_engine(database_url).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield database_url.replace(f"search_path%3D{suite_schema}", f"search_path%3D{schema}")
    finally:
        with db.get_engine(database_url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@contextmanager
def serving(env: dict[str, str], home: Path) -> Iterator[str]:
    """`siyu serve` in `home` with this environment on a free loopback port (its log:
    home/serve.log), answering until the block ends; yields its address."""
    port, log = _free_port(), home / "serve.log"
    command = [_siyu_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=home, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, url, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        db.dispose_engines()


@pytest.fixture(scope="session")
def e2e_database(database_url, tmp_path_factory) -> Iterator[str]:
    """A database of the same kind as the suite's (SQLite, or PostgreSQL when asked for) that only
    the live server and these flows use: the suite empties its own database after every test with
    a TRUNCATE, which on PostgreSQL deadlocks with the live server's shipper."""
    with own_database(database_url, tmp_path_factory.mktemp("e2e-db"), "e2e") as url:
        yield url


@pytest.fixture(scope="session")
def live_server(e2e_database, tmp_path_factory) -> Iterator[str]:
    """The whole app as users get it (`siyu serve`, with its shipper and job worker)."""
    home = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "SIYU_DATABASE_URL": e2e_database,
        "SIYU_LAKE": str(home / "lake"),
        "SIYU_TIMEZONE": "Asia/Shanghai",
        "SIYU_LOCALE": "zh-CN",
    }
    _server_logs.append(home / "serve.log")
    with serving(env, home) as url:
        yield url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.failed_flow = getattr(item, "failed_flow", False) or report.failed
    if report.failed and _server_logs and _server_logs[-1].exists():
        report.sections.append(("siyu serve log", _server_logs[-1].read_text()[-4000:]))
    return report


@pytest.fixture(scope="session")
def browser():
    executable = CHROMIUM if Path(CHROMIUM).exists() else None  # else Playwright's own build
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as error:
            pytest.fail(f"no chromium to drive: `apt-get install -y chromium` ({error})")
        yield launched
        launched.close()


@dataclass
class Brand:
    """What the flows sign in as and look for."""

    url: str
    database: str
    admin: str
    guide: str
    customers: dict[str, int] = field(default_factory=dict)  # by user id
    staff: dict[str, int] = field(default_factory=dict)  # by WeCom UserID
    guide_token: str = ""
    write_key: str = ""
    password: str = PASSWORD


# (user id, name, phone, owner): two guides, each with customers of their own.
CUSTOMERS = (
    ("c-wang", "王小明", "13800001111", "zhang"),
    ("c-li", "李娜", "13900002222", "zhang"),
    ("c-zhao", "赵磊", "13700003333", "li"),
    ("c-chen", "陈静", "13600004444", "li"),
)


@pytest.fixture(scope="session")
def loaded_brand(live_server, e2e_database) -> Brand:
    """A small brand, loaded once through the tracking API of the live server; console users."""
    with acting_as("e2e"), unit_of_work(e2e_database) as s:
        _, key = create_key(s, "e2e-mall")
    batch = [
        {
            "type": "identify",
            "userId": uid,
            "messageId": f"e2e-{uid}",
            "traits": {"name": name, "phone": phone},
        }
        for uid, name, phone, _ in CUSTOMERS
    ]
    answer = httpx.post(f"{live_server}/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert answer.status_code == 200, answer.text
    # Acknowledged means stored; catch the processor up rather than race the server's own.
    inbox.process_all(session_factory(e2e_database))
    with acting_as("e2e"), unit_of_work(e2e_database) as s, pytest.MonkeyPatch.context() as patch:
        # The flows' users need no costly hashes; the server checks any argon2 hash it is given.
        patch.setattr(user_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        staff = {
            "zhang": create_staff(s, "张导购", wecom_userid="zhang"),
            "li": create_staff(s, "李导购", wecom_userid="li"),
        }
        customers = {}
        for uid, _, _, owner in CUSTOMERS:
            customers[uid] = find_customer(s, uid).id
            assign_owner(s, customers[uid], staff[owner].id)
        user_service.create_user(s, "admin@brand.cn", PASSWORD, "admin", "管理员小王")
        user_service.create_user(
            s, "guide@brand.cn", PASSWORD, "guide", "张导购", staff["zhang"].id
        )
        token, secret = create_token(s, "e2e-guide", "guide", staff["zhang"].id)
        staff_ids = {name: member.id for name, member in staff.items()}
    return Brand(
        live_server,
        e2e_database,
        "admin@brand.cn",
        "guide@brand.cn",
        customers,
        staff_ids,
        secret,
        key,
    )


@pytest.fixture
def brand(loaded_brand) -> Brand:
    """The brand, with every user back on the default language (a flow may have changed it)."""
    with unit_of_work(loaded_brand.database) as s:
        s.execute(update(User).values(locale=None))
    return loaded_brand


class Console:
    """A browser tab on the live console that keeps a screenshot of every page it shows."""

    def __init__(self, page, url: str, test_name: str):
        self.page, self.url = page, url
        self.prefix = re.sub(r"[^\w-]+", "_", test_name)
        self.count = 0
        page.on("dialog", lambda dialog: dialog.accept())  # the console's confirm() prompts
        # What the Content-Security-Policy refused, and scripts that broke: the flow fails.
        self.refused: list[str] = []
        page.on("console", self._note_refusal)
        page.on("pageerror", lambda error: self.refused.append(f"script error: {error}"))

    def _note_refusal(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.refused.append(message.text)

    def open(self, path: str):
        response = self.page.goto(self.url + path)
        self.shot(path.strip("/") or "home")
        return response

    def shot(self, label: str) -> None:
        """The page as it stands, full length, at desktop and phone width."""
        self.count += 1
        name = re.sub(r"[^\w-]+", "_", label)[:40]
        SCREENSHOTS.mkdir(exist_ok=True)
        size = self.page.viewport_size
        for width_name, width in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": 800})
            path = SCREENSHOTS / f"{self.prefix}-{self.count:02}-{name}-{width_name}.png"
            self._capture(path)
        self.page.set_viewport_size(size)

    def _capture(self, path: Path) -> None:
        """A screenshot; Chromium refuses one now and then while a resized page repaints on a
        busy machine ("Unable to capture screenshot"): that one is taken again once."""
        try:
            self.page.screenshot(path=str(path), full_page=True)
        except PlaywrightError as error:
            if "Unable to capture screenshot" not in str(error):
                raise
            self.page.wait_for_timeout(500)
            self.page.screenshot(path=str(path), full_page=True)

    def submit(self, selector: str, label: str) -> None:
        """Click a submit button and wait for the page the form leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.shot(label)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.open("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.submit("button[type=submit]", "signed-in")

    def sign_out(self) -> None:
        self.submit("form[action='/logout'] button", "signed-out")

    @property
    def lang(self) -> str:
        return self.page.get_attribute("html", "lang")


@pytest.fixture
def console(browser, brand, request) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.set_default_timeout(10_000)
    console = Console(context.new_page(), brand.url, request.node.name)
    try:
        yield console
        if getattr(request.node, "failed_flow", False):
            console.shot("failed-here")
    finally:
        context.close()
    assert console.refused == [], "the page broke or the CSP refused something"
