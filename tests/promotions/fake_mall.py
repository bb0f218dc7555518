"""A brand's mall on 127.0.0.1 as the customer pages meet it: its checkout (`/checkout`) takes
the activity, the customer and the page to come back to from the query string, "takes the
payment" and tells Siyu through the mall's API with its own `mall` token, as a mall would, then
sends the customer back (to the group the order opened, or the page they came from)."""

from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx


class FakeMall:
    """`with FakeMall() as mall:` — `mall.checkout` is SIYU_MALL_URL; set `siyu` (the server's
    address) and `token` (a mall token's secret) once Siyu is up."""

    def __init__(self) -> None:
        self.siyu, self.token = "", ""
        self.orders: list[dict[str, str]] = []
        self._numbers = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.checkout = f"http://127.0.0.1:{self.server.server_address[1]}/checkout"

    def __enter__(self) -> FakeMall:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pay(self, query: dict[str, str]) -> str:
        """The order paid: Siyu told; where the customer goes next."""
        order = f"MALL-{next(self._numbers)}"
        self.orders.append(query | {"order_id": order})
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": order}
        body = {"customer": int(query["customer"]), "order_id": order}
        if "group_buy" in query:
            body["amount"] = "59.00"
            if "group" in query:
                path = f"/api/group-buys/groups/{query['group']}/join"
            else:
                path = f"/api/group-buys/{query['group_buy']}/groups"
            answer = httpx.post(f"{self.siyu}{path}", json=body, headers=headers, timeout=10)
            answer.raise_for_status()
            return f"{self.siyu}/h5/g/{answer.json()['code']}"
        if "tiered" in query:
            path = f"/api/tiered/{query['tiered']}/participants"
            httpx.post(f"{self.siyu}{path}", json=body, headers=headers, timeout=10)
        return query["back"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mall = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                url = urlsplit(self.path)
                if url.path != "/checkout":
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self.send_response(303)
                self.send_header("Location", mall.pay(query))
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler
