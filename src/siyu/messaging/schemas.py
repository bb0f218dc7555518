"""What crosses reach's API and CLI: a customer's consent on every channel."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from siyu.messaging import service
from siyu.messaging.models import CHANNELS, Consent


class ConsentOut(BaseModel):
    channel: str
    status: str | None = Field(description="subscribed, unsubscribed, or null: none recorded.")
    reachable: bool = Field(description="Whether marketing may go to the customer on it.")
    method: str | None = None
    source: str | None = None
    changed_at: datetime | None = None
    changed_by: str | None = None


class CustomerConsentOut(BaseModel):
    customer_id: int
    channels: list[ConsentOut]


def consent_out(customer_id: int, found: dict[str, Consent | None]) -> CustomerConsentOut:
    rows = []
    for channel in CHANNELS:
        row = found.get(channel)
        status = row.status if row else None
        rows.append(
            ConsentOut(
                channel=channel,
                status=status,
                reachable=service.is_reachable(channel, status),
                method=row.method if row else None,
                source=row.source if row else None,
                changed_at=row.changed_at if row else None,
                changed_by=row.changed_by if row else None,
            )
        )
    return CustomerConsentOut(customer_id=customer_id, channels=rows)
