"""Yuan as a person types them (a form, a command's option) in integer fen: one reading, so the
console and the CLI accept and refuse the same amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from siyu.core.i18n import N_

MAX_TYPED_YUAN = Decimal(1_000_000)  # a coupon's or a sale's price: fen fit a 32-bit column


def typed_fen(text: str) -> int:
    """`99`, `99.9`, `¥1,299.00` to fen; a ValueError whose message (a message id) says why
    not: not a number, more than two decimals, or outside 0 to 1,000,000 yuan."""
    try:
        amount = Decimal(text.replace(",", "").replace("¥", "").replace("￥", "").strip())
    except InvalidOperation:
        raise ValueError(N_("enter an amount in yuan, such as 99.90")) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(N_("enter yuan with at most two decimals"))
    if not 0 <= amount <= MAX_TYPED_YUAN:
        raise ValueError(N_("enter an amount from 0 to 1,000,000 yuan"))
    return int(amount * 100)
