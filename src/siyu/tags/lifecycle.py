"""The brand's lifecycle thresholds (days), kept in the database; the environment gives defaults."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.segments.lifecycle import LifecycleThresholds
from siyu.tags.models import LifecycleSettings

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
