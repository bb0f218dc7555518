"""A fake WeChat web authorisation (网页授权) on 127.0.0.1: /connect/oauth2/authorize sends the
browser back with a one-time code, /sns/oauth2/access_token trades it for the openid (and the
unionid when the account is bound to an open platform), answering WeChat's JSON and errors."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

APP_ID, APP_SECRET = "wx-fake-h5", "fake-h5-secret"


@dataclass
class OAuthState:
    codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # code → ids
    scopes: list[str] = field(default_factory=list)
    next_ids: list[tuple[str, str | None]] = field(default_factory=list)  # who signs in next
    exchanges: int = 0


class FakeWechatOAuth:
    """`with FakeWechatOAuth() as fake:` — `fake.base` is the host for both settings."""

    def __init__(self) -> None:
        self.state = OAuthState()
        self._people = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def code_for(self, openid: str, unionid: str | None = None) -> str:
        code = f"code{len(self.state.codes) + 1:04d}"
        self.state.codes[code] = (openid, unionid)
        return code

    def __enter__(self) -> FakeWechatOAuth:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/connect/oauth2/authorize":
                    self._authorize(query)
                elif url.path == "/sns/oauth2/access_token":
                    self._json(fake._exchange(query))
                else:
                    self._json({"errcode": 40001, "errmsg": "invalid path"})

            def _authorize(self, query: dict[str, str]) -> None:
                fake.state.scopes.append(query.get("scope", ""))
                who = (
                    fake.state.next_ids.pop(0)
                    if fake.state.next_ids
                    else (f"o-fake-{next(fake._people)}", None)
                )
                code = fake.code_for(*who)
                back = urlencode({"code": code, "state": query.get("state", "")})
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{back}")
                self.end_headers()

            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _exchange(self, query: dict[str, str]) -> dict:
        self.state.exchanges += 1
        if (query.get("appid"), query.get("secret")) != (APP_ID, APP_SECRET):
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        found = self.state.codes.pop(query.get("code", ""), None)  # a code is used once
        if found is None or query.get("grant_type") != "authorization_code":
            return {"errcode": 40029, "errmsg": "invalid code"}
        openid, unionid = found
        answer = {
            "access_token": "fake-web-token",
            "expires_in": 7200,
            "refresh_token": "fake-refresh",
            "openid": openid,
            "scope": "snsapi_base",
        }
        if unionid:
            answer["unionid"] = unionid
        return answer
