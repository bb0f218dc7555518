"""A fake WeCom and official-account API on 127.0.0.1: a real HTTP server answering the JSON
Tencent's APIs answer, keeping what it was sent so tests can assert on the calls."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CORP_ID, CORP_SECRET = "ww-fake-corp", "fake-contact-secret"
APP_ID, APP_SECRET = "wx-fake-app", "fake-app-secret"
AGENT_ID, AGENT_SECRET = "1000002", "fake-agent-secret"  # the self-built app (the workbench's)
OK = {"errcode": 0, "errmsg": "ok"}


@dataclass
class Call:
    path: str
    query: dict
    body: dict


@dataclass
class FakeState:
    """What the fake platform knows: contacts per guide, corp tags, groups, transfers."""

    contacts: dict[str, dict] = field(default_factory=dict)  # external_userid → contact
    follows: dict[str, list[dict]] = field(default_factory=dict)  # external_userid → follow_user
    extra_users: list[str] = field(default_factory=list)
    tag_groups: list[dict] = field(default_factory=list)
    groups: dict[str, dict] = field(default_factory=dict)
    transfers: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    followers: dict[str, dict] = field(default_factory=dict)  # official account openid → info
    fail_next: dict[str, list[int]] = field(default_factory=dict)  # path → errcodes to answer
    calls: list[Call] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    group_msgs: dict[str, dict] = field(default_factory=dict)  # 群发 msgid → what was asked
    media: dict[str, bytes] = field(default_factory=dict)  # media_id → uploaded bytes
    oa_messages: list[dict] = field(default_factory=list)  # template and custom messages sent
    oa_window: set[str] = field(default_factory=set)  # openids inside the 48 h window

    def confirm(self, msgid: str, userid: str, statuses: dict[str, int] | None = None) -> None:
        """The guide confirms a 群发: each customer's (or chat's) send status, 1 (sent) unless
        given (2 not a friend, 3 received too many 群发 today)."""
        msg = self.group_msgs[msgid]
        msg["task"][userid] = 2
        for target in msg["targets"][userid]:
            msg["results"][(userid, target)] = (statuses or {}).get(target, 1)

    def add_contact(
        self,
        external: str,
        name: str,
        userid: str,
        unionid: str | None = None,
        tag_ids: list[str] | None = None,
        state: str = "",
    ) -> None:
        contact = {"external_userid": external, "name": name, "type": 1, "gender": 0}
        if unionid:
            contact["unionid"] = unionid
        self.contacts[external] = contact
        tags = [self._tag(t) for t in tag_ids or []]
        self.follows.setdefault(external, []).append(
            {
                "userid": userid,
                "remark": "",
                "createtime": 1700000000,
                "state": state,
                "tags": [t for t in tags if t],
                "tag_id": list(tag_ids or []),
            }
        )

    def add_tag(self, group_name: str, tag_id: str, name: str) -> None:
        group = next((g for g in self.tag_groups if g["group_name"] == group_name), None)
        if group is None:
            group = {
                "group_id": f"grp-{group_name}",
                "group_name": group_name,
                "create_time": 1700000000,
                "order": 1,
                "deleted": False,
                "tag": [],
            }
            self.tag_groups.append(group)
        group["tag"].append(
            {"id": tag_id, "name": name, "create_time": 1700000000, "order": 1, "deleted": False}
        )

    def _tag(self, tag_id: str) -> dict | None:
        for group in self.tag_groups:
            for tag in group["tag"]:
                if tag["id"] == tag_id:
                    return {
                        "group_name": group["group_name"],
                        "tag_name": tag["name"],
                        "tag_id": tag_id,
                        "type": 1,
                    }
        return None

    def follow(self, external: str, userid: str) -> dict | None:
        """The relation between a guide and a contact (their follow_user entry)."""
        return next((f for f in self.follows.get(external, []) if f["userid"] == userid), None)

    def tags_on(self, external: str, userid: str) -> set[str]:
        """The corp tag ids the guide has marked on the contact."""
        follow = self.follow(external, userid)
        return set(follow["tag_id"]) if follow else set()

    def tag_named(self, name: str) -> tuple[str, str] | None:
        """(group name, tag id) of the corp tag with this name."""
        for group in self.tag_groups:
            for tag in group["tag"]:
                if tag["name"] == name:
                    return group["group_name"], tag["id"]
        return None

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(path)]

    def follow_users(self) -> list[str]:
        users = {f["userid"] for follows in self.follows.values() for f in follows}
        return sorted(users | set(self.extra_users))


class FakeTencent:
    """Start with `with FakeTencent() as fake:`; `fake.wecom_base` and `fake.wechat_base`."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._tickets = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def wecom_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/wecom/cgi-bin/"

    @property
    def wechat_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/wechat/cgi-bin/"

    def __enter__(self) -> FakeTencent:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                self._answer({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Type", "").startswith("multipart/"):
                    self._answer({"multipart": raw})  # a media upload: kept as sent
                    return
                self._answer(json.loads(raw.decode("utf-8")) if raw else {})

            def _answer(self, body: dict) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.state.calls.append(Call(url.path, query, body))
                answer = fake.route(url.path, query, body)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # -- routing --------------------------------------------------------------------------

    def route(self, path: str, query: dict, body: dict) -> dict:
        platform, _, endpoint = path.strip("/").partition("/cgi-bin/")
        if platform == "wecom" and endpoint == "gettoken":
            return self._token(
                query.get("corpid") == CORP_ID
                and query.get("corpsecret") in (CORP_SECRET, AGENT_SECRET)
            )
        if platform == "wechat" and endpoint == "token":
            return self._token(query.get("appid") == APP_ID and query.get("secret") == APP_SECRET)
        if query.get("access_token") not in self.state.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        queued = self.state.fail_next.get(endpoint)
        code = queued.pop(0) if queued else 0
        if code:  # a queued 0 answers normally
            return {"errcode": code, "errmsg": "api freq out of limit" if code == 45009 else "x"}
        answer = getattr(self, f"_{platform}_" + endpoint.replace("/", "_"), None)
        if answer is None:
            return {"errcode": 40035, "errmsg": f"fake server has no {endpoint}"}
        return answer(query, body)

    def _token(self, valid: bool) -> dict:
        if not valid:
            return {"errcode": 40013, "errmsg": "invalid corpid or secret"}
        token = f"fake-token-{len(self.state.tokens) + 1}"
        self.state.tokens.add(token)
        return {**OK, "access_token": token, "expires_in": 7200}

    # -- WeCom JS-SDK tickets (2 hours each) ------------------------------------------------

    def _wecom_get_jsapi_ticket(self, query, body):
        return {**OK, "ticket": f"corp-ticket-{next(self._tickets)}", "expires_in": 7200}

    def _wecom_ticket_get(self, query, body):
        if query.get("type") != "agent_config":
            return {"errcode": 40097, "errmsg": "invalid args"}
        return {**OK, "ticket": f"agent-ticket-{next(self._tickets)}", "expires_in": 7200}

    # -- WeCom externalcontact --------------------------------------------------------------

    def _wecom_externalcontact_get_follow_user_list(self, query, body):
        return {**OK, "follow_user": self.state.follow_users()}

    def _wecom_externalcontact_list(self, query, body):
        userid = query.get("userid")
        ids = [e for e, fs in self.state.follows.items() if any(f["userid"] == userid for f in fs)]
        return {**OK, "external_userid": sorted(ids)}

    def _wecom_externalcontact_get(self, query, body):
        external = query.get("external_userid")
        if external not in self.state.contacts:
            return {"errcode": 84061, "errmsg": "not external contact"}
        return {
            **OK,
            "external_contact": self.state.contacts[external],
            "follow_user": self.state.follows.get(external, []),
        }

    def _wecom_externalcontact_batch_get_by_user(self, query, body):
        userids = set(body.get("userid_list") or [])
        limit = min(int(body.get("limit") or 50), 100)
        rows = [
            {
                "external_contact": self.state.contacts[e],
                "follow_info": {k: v for k, v in f.items() if k != "tags"},
            }
            for e in sorted(self.state.follows)
            for f in self.state.follows[e]
            if f["userid"] in userids
        ]
        start = int(body.get("cursor") or 0)
        page = rows[start : start + limit]
        after = start + limit
        return {
            **OK,
            "external_contact_list": page,
            "next_cursor": str(after) if after < len(rows) else "",
        }

    def _wecom_externalcontact_add_contact_way(self, query, body):
        n = next(self._tickets)
        return {
            **OK,
            "config_id": f"cfg-{n}",
            "qr_code": f"https://wework.qpic.cn/fake/contact-way-{n}.png",
        }

    def _wecom_externalcontact_send_welcome_msg(self, query, body):
        return dict(OK)

    def _wecom_externalcontact_mark_tag(self, query, body):
        follow = self.state.follow(body.get("external_userid"), body.get("userid"))
        if follow is None:
            return {"errcode": 84061, "errmsg": "not external contact"}
        adding, removing = list(body.get("add_tag") or []), list(body.get("remove_tag") or [])
        if not adding and not removing:
            return {"errcode": 41017, "errmsg": "missing tags"}
        if any(self.state._tag(t) is None for t in adding + removing):
            return {"errcode": 40068, "errmsg": "invalid tagid"}
        ids = [t for t in follow["tag_id"] if t not in removing]
        ids += [t for t in adding if t not in ids]
        follow["tag_id"], follow["tags"] = ids, [self.state._tag(t) for t in ids]
        return dict(OK)

    def _wecom_externalcontact_add_corp_tag(self, query, body):
        """New tags in the group named by group_id, else by group_name (made when missing)."""
        groups = self.state.tag_groups
        if body.get("group_id"):
            group = next((g for g in groups if g["group_id"] == body["group_id"]), None)
            if group is None:
                return {"errcode": 40071, "errmsg": "invalid group_id"}
        else:
            name = body.get("group_name") or ""
            group = next((g for g in groups if g["group_name"] == name), None)
        names = [t.get("name") or "" for t in body.get("tag") or []]
        if not names or any(not n or len(n) > 30 for n in names):
            return {"errcode": 40058, "errmsg": "invalid tag name"}
        if group and any(t["name"] in names for t in group["tag"]):
            return {"errcode": 40071, "errmsg": "UserTag Name Already Exist"}
        group_name = group["group_name"] if group else body["group_name"]
        made = {f"et-made-{next(self._tickets)}": name for name in names}
        for tag_id, name in made.items():
            self.state.add_tag(group_name, tag_id, name)
        group = next(g for g in groups if g["group_name"] == group_name)
        fields = ("group_id", "group_name", "create_time", "order")
        tags = [t for t in group["tag"] if t["id"] in made]
        return {**OK, "tag_group": {**{k: group[k] for k in fields}, "tag": tags}}

    def _wecom_externalcontact_get_corp_tag_list(self, query, body):
        wanted = set(body.get("tag_id") or [])
        groups = []
        for group in self.state.tag_groups:
            tags = [t for t in group["tag"] if not wanted or t["id"] in wanted]
            if tags:
                groups.append({**group, "tag": tags})
        return {**OK, "tag_group": groups}

    def _wecom_externalcontact_transfer_customer(self, query, body):
        pair = (body["handover_userid"], body["takeover_userid"])
        waiting = self.state.transfers.setdefault(pair, {})
        for external in body["external_userid"]:
            waiting[external] = 2
        return {
            **OK,
            "customer": [{"external_userid": e, "errcode": 0} for e in body["external_userid"]],
        }

    _wecom_externalcontact_resigned_transfer_customer = _wecom_externalcontact_transfer_customer

    def _wecom_externalcontact_transfer_result(self, query, body):
        pair = (body["handover_userid"], body["takeover_userid"])
        customers = [
            {"external_userid": e, "status": s, "takeover_time": 1700000500}
            for e, s in self.state.transfers.get(pair, {}).items()
        ]
        return {**OK, "customer": customers, "next_cursor": ""}

    def _wecom_externalcontact_groupchat_get(self, query, body):
        chat = self.state.groups.get(body.get("chat_id"))
        if chat is None:
            return {"errcode": 40050, "errmsg": "chatid not found"}
        return {**OK, "group_chat": chat}

    # -- WeCom 群发 and media --------------------------------------------------------------

    def _wecom_media_upload(self, query, body):
        if query.get("type") not in ("image", "voice", "video", "file") or not body.get(
            "multipart"
        ):
            return {"errcode": 40004, "errmsg": "invalid media type"}
        media_id = f"media-{next(self._tickets)}"
        self.state.media[media_id] = body["multipart"]
        return {**OK, "type": query["type"], "media_id": media_id, "created_at": "1700000000"}

    def _wecom_externalcontact_add_msg_template(self, query, body):
        chat_type, sender = body.get("chat_type", "single"), body.get("sender") or ""
        targets = body.get("chat_id_list" if chat_type == "group" else "external_userid") or []
        if len(targets) > 10000:
            return {"errcode": 41048, "errmsg": "too many external_userid"}
        if not body.get("text") and not body.get("attachments"):
            return {"errcode": 41044, "errmsg": "empty message"}
        for attachment in body.get("attachments") or []:
            media = (attachment.get("image") or {}).get("media_id") or (
                attachment.get("miniprogram") or {}
            ).get("pic_media_id")
            if media is not None and media not in self.state.media:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
        if chat_type == "group":
            mine = [c for c, g in self.state.groups.items() if g.get("owner") == sender]
        else:
            mine = [e for e in targets if self.state.follow(e, sender)]
        fail = [t for t in targets if t not in mine]
        msgid = f"msg-{next(self._tickets)}"
        self.state.group_msgs[msgid] = {
            "msgid": msgid,
            "chat_type": chat_type,
            "sender": sender,
            "create_time": int(time.time()),
            "text": body.get("text") or {},
            "attachments": body.get("attachments") or [],
            "targets": {sender: [t for t in targets if t in mine]},
            "task": {sender: 0},
            "results": {},
            "reminded": 0,
            "cancelled": False,
        }
        return {**OK, "fail_list": fail, "msgid": msgid}

    def _wecom_externalcontact_get_groupmsg_list_v2(self, query, body):
        start, end = int(body["start_time"]), int(body["end_time"])
        if end - start > 31 * 86400:
            return {"errcode": 40058, "errmsg": "time range over a month"}
        rows = [
            {k: m[k] for k in ("msgid", "create_time", "text", "attachments")} | {"create_type": 0}
            for m in self.state.group_msgs.values()
            if m["chat_type"] == body.get("chat_type", "single")
            and start <= m["create_time"] <= end
        ]
        first = int(body.get("cursor") or 0)
        limit = min(int(body.get("limit") or 50), 100)
        after = first + limit
        return {
            **OK,
            "group_msg_list": rows[first:after],
            "next_cursor": str(after) if after < len(rows) else "",
        }

    def _wecom_externalcontact_get_groupmsg_task(self, query, body):
        msg = self.state.group_msgs.get(body.get("msgid"))
        if msg is None:
            return {"errcode": 41063, "errmsg": "invalid msgid"}
        tasks = [
            {"userid": u, "status": s} | ({"send_time": msg["create_time"] + 60} if s else {})
            for u, s in msg["task"].items()
        ]
        return {**OK, "task_list": tasks, "next_cursor": ""}

    def _wecom_externalcontact_get_groupmsg_send_result(self, query, body):
        msg = self.state.group_msgs.get(body.get("msgid"))
        if msg is None:
            return {"errcode": 41063, "errmsg": "invalid msgid"}
        userid, key = body.get("userid"), "chat_id" if msg["chat_type"] == "group" else None
        rows = []
        for target in msg["targets"].get(userid, []):
            status = msg["results"].get((userid, target), 0)
            row = {key or "external_userid": target, "userid": userid, "status": status}
            rows.append(row | ({"send_time": msg["create_time"] + 60} if status == 1 else {}))
        first = int(body.get("cursor") or 0)
        limit = min(int(body.get("limit") or 500), 1000)
        after = first + limit
        return {
            **OK,
            "send_list": rows[first:after],
            "next_cursor": str(after) if after < len(rows) else "",
        }

    def _wecom_externalcontact_remind_groupmsg_send(self, query, body):
        msg = self.state.group_msgs.get(body.get("msgid"))
        if msg is None:
            return {"errcode": 41063, "errmsg": "invalid msgid"}
        msg["reminded"] += 1
        return dict(OK)

    def _wecom_externalcontact_cancel_groupmsg_send(self, query, body):
        msg = self.state.group_msgs.get(body.get("msgid"))
        if msg is None:
            return {"errcode": 41063, "errmsg": "invalid msgid"}
        msg["cancelled"] = True
        return dict(OK)

    # -- official account -----------------------------------------------------------------

    def _wechat_message_template_send(self, query, body):
        if not body.get("touser") or not body.get("template_id"):
            return {"errcode": 40003, "errmsg": "invalid openid"}
        if body["touser"] not in self.state.followers:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        previous = next(
            (
                m
                for m in self.state.oa_messages
                if body.get("client_msg_id") and m.get("client_msg_id") == body["client_msg_id"]
            ),
            None,
        )
        if previous is not None:  # WeChat's 防重入 id: the same message is not sent again
            return {**OK, "msgid": previous["msgid"]}
        msgid = 200000000 + next(self._tickets)
        self.state.oa_messages.append({**body, "kind": "template", "msgid": msgid})
        return {**OK, "msgid": msgid}

    def _wechat_message_custom_send(self, query, body):
        openid = body.get("touser")
        if openid not in self.state.followers:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        if openid not in self.state.oa_window:
            return {
                "errcode": 45015,
                "errmsg": "response out of time limit or subscription is canceled",
            }
        self.state.oa_messages.append({**body, "kind": "custom"})
        return dict(OK)

    def _wechat_qrcode_create(self, query, body):
        n = next(self._tickets)
        return {
            "ticket": f"gQH-fake-ticket-{n}",
            "expire_seconds": None,
            "url": f"http://weixin.qq.com/q/fake-{n}",
        }

    def _wechat_user_info(self, query, body):
        openid = query.get("openid")
        info = self.state.followers.get(openid, {})
        return {"subscribe": 1, "openid": openid, **info}
