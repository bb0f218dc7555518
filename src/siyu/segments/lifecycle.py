"""Lifecycle stages (生命周期): new, active, silent and churned, from first seen and orders; the
brand's thresholds (days) are kept in the database, and the environment gives the defaults."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.segments.models import LifecycleSettings

if TYPE_CHECKING:  # Ibis is imported where a stage is computed: the brand's days need none
    import ibis.expr.types as ir


class LifecycleThresholds(BaseSettings):
    """Days that separate the stages; SIYU_LIFECYCLE_NEW_DAYS etc. override the defaults."""

    model_config = SettingsConfigDict(env_prefix="SIYU_LIFECYCLE_", env_file=".env", extra="ignore")

    new_days: int = Field(30, ge=1, description="First seen within this many days: new.")
    active_days: int = Field(90, ge=1, description="An order within this many days: active.")
    churned_days: int = Field(180, ge=1, description="Last order longer ago than this: churned.")

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleThresholds:
        if self.active_days >= self.churned_days:
            raise ValueError("active_days must be less than churned_days")
        return self


ROW = 1


def thresholds(session: Session) -> LifecycleThresholds:
    """The stored thresholds, or SIYU_LIFECYCLE_* / the defaults when none are stored."""
    row = session.get(LifecycleSettings, ROW)
    if row is None:
        return LifecycleThresholds()
    return LifecycleThresholds(
        new_days=row.new_days, active_days=row.active_days, churned_days=row.churned_days
    )


def set_thresholds(
    session: Session, new_days: int, active_days: int, churned_days: int
) -> LifecycleThresholds:
    """Store the brand's thresholds (active_days < churned_days, all at least 1)."""
    try:
        checked = LifecycleThresholds(
            new_days=new_days, active_days=active_days, churned_days=churned_days
        )
    except ValidationError:
        raise InvalidInput(
            N_("days are whole numbers of at least 1, and active days fewer than churned days"),
            field="active_days",
        ) from None
    row = session.get(LifecycleSettings, ROW) or LifecycleSettings(id=ROW)
    row.new_days, row.active_days = checked.new_days, checked.active_days
    row.churned_days = checked.churned_days
    session.add(row)
    session.flush()
    return checked


def lifecycle_stage(
    first_seen: ir.TimestampValue,
    last_order: ir.TimestampValue,
    as_of: datetime,
    thresholds: LifecycleThresholds,
) -> ir.StringValue:
    """The stage at `as_of`; `last_order` is the last counted order at or before it (or null).

    Checked in this order, so a customer has one stage (or none, if first seen after as_of):
    new (first seen in (as_of − new_days, as_of]), active (last order in
    (as_of − active_days, as_of]), silent (last order in [as_of − churned_days,
    as_of − active_days]), churned (last order before as_of − churned_days), silent (never
    ordered and first seen at or before as_of − new_days).
    """
    import ibis

    def days_before(days: int) -> ir.TimestampScalar:
        return ibis.literal(as_of - timedelta(days=days))

    is_new = (first_seen > days_before(thresholds.new_days)) & (first_seen <= ibis.literal(as_of))
    return ibis.cases(
        (is_new, "new"),
        (last_order > days_before(thresholds.active_days), "active"),
        (last_order >= days_before(thresholds.churned_days), "silent"),
        (last_order.notnull(), "churned"),
        (first_seen <= days_before(thresholds.new_days), "silent"),
        else_=ibis.null("string"),
    )
