"""The email channel's sender: SMTP through the standard library, one connection per batch, each
message's outcome reported as the server answers it (`SendsEach`).

SIYU_SMTP_URL says where: `smtp://user:pass@host:587` (STARTTLS when the server offers it) or
`smtps://user:pass@host:465` (TLS from the first byte); SIYU_MAIL_FROM who from. Each message has
a text and, when the content has one, an HTML part, a Message-ID derived from the delivery's key
(the same on every attempt: SMTP takes no idempotency key, so a message sent again after a crash
carries the Message-ID receivers dedup on), and for marketing `List-Unsubscribe` with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). A 5xx refusal of the recipient is
a bounce (`bounced: …`, which suppresses the address); a 4xx is tried again later.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

from siyu.core.settings import Settings
from siyu.messaging.models import Channel
from siyu.messaging.sending import Outcome, Outgoing

TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    implicit_tls: bool
    user: str | None
    password: str | None


def server_of(url: str) -> Server:
    """SIYU_SMTP_URL read; ValueError naming the setting when it is not an smtp(s) address."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SIYU_SMTP_URL is smtp://user:pass@host:587 or smtps://user:pass@host:465")
    implicit = parts.scheme == "smtps"
    return Server(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 587),
        implicit_tls=implicit,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def message_id(key: str, domain: str) -> str:
    """The delivery's Message-ID: the same for every attempt of the same delivery."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<siyu.{digest}@{domain}>"


class EmailSender:
    channel = "email"

    def __init__(self, settings: Settings, row: Channel | None = None):
        if not settings.smtp_url or not settings.mail_from:
            raise ValueError("set SIYU_SMTP_URL and SIYU_MAIL_FROM")
        self.server = server_of(settings.smtp_url)
        name, address = parseaddr(settings.mail_from)
        if "@" not in address:
            raise ValueError("SIYU_MAIL_FROM is an address such as 'Brand <news@brand.cn>'")
        display = name or str(((row.config if row else None) or {}).get("from_name") or "")
        self.envelope_from = address
        self.sender = str(Address(display_name=display, addr_spec=address))
        self.domain = address.rsplit("@", 1)[1]

    def compose(self, item: Outgoing) -> EmailMessage:
        content = item.content
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = item.address
        message["Subject"] = str(content.get("subject") or "")
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id(item.key, self.domain)
        unsubscribe = content.get("unsubscribe_url")
        if unsubscribe and item.purpose == "marketing":
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(str(content.get("text") or ""))
        if content.get("html"):
            message.add_alternative(str(content["html"]), subtype="html")
        return message

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(self.send_each(batch))

    def send_each(self, batch: Sequence[Outgoing]) -> Iterator[Outcome]:
        """One connection for the batch; each message's Outcome yielded as soon as the server
        has answered it, so the dispatcher records it before the next message goes."""
        if not batch:
            return
        try:
            connection = self._connect()
        except (OSError, smtplib.SMTPException) as problem:
            for item in batch:
                yield _again(item, f"cannot reach the SMTP server: {problem}")
            return
        done = 0
        try:
            for item in batch:
                outcome = self._send_one(connection, item)
                done += 1
                yield outcome
                if outcome.error and outcome.error.startswith("connection lost"):
                    break
        finally:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
        for item in batch[done:]:
            yield _again(item, "not sent: the connection was lost")

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        # SMTP cannot be asked what became of a message: None sends it again, same Message-ID.
        return [None for _ in batch]

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        connection: smtplib.SMTP
        if server.implicit_tls:
            connection = smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            connection.ehlo()
            if connection.has_extn("starttls"):
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
        if server.user:
            connection.login(server.user, server.password or "")
        return connection

    def _send_one(self, connection: smtplib.SMTP, item: Outgoing) -> Outcome:
        message = self.compose(item)
        mid = str(message["Message-ID"])
        try:
            connection.send_message(message, from_addr=self.envelope_from, to_addrs=[item.address])
        except smtplib.SMTPRecipientsRefused as refused:
            code, text = next(iter(refused.recipients.values()))
            return _refused(item, code, text, "bounced")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as refused:
            return _refused(item, refused.smtp_code, refused.smtp_error, "refused")
        except (smtplib.SMTPServerDisconnected, OSError) as lost:
            # Whether the server took it is unknown: tried again later with the same Message-ID.
            return _again(item, f"connection lost: {lost}")
        return Outcome(item.delivery_id, "sent", provider_id=mid.strip("<>"))


def _refused(item: Outgoing, code: int, text: bytes | str, word: str) -> Outcome:
    said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if 500 <= code < 600:
        return Outcome(item.delivery_id, "failed", error=f"{word}: {code} {said}"[:500])
    return _again(item, f"{code} {said}")


def _again(item: Outgoing, error: str) -> Outcome:
    return Outcome(item.delivery_id, "failed", error=error[:500], retry=True)
