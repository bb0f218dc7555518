"""RFM layers (RFM 客户分层): recency, frequency and monetary against the buyers' averages."""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

SECONDS_PER_DAY = 86_400

# (recent, frequent, valuable) → layer; the Chinese names are the ones operators use.
LAYERS = {
    (True, True, True): "important_value",  # 重要价值客户
    (True, False, True): "important_development",  # 重要发展客户
    (False, True, True): "important_retention",  # 重要保持客户
    (False, False, True): "important_recovery",  # 重要挽留客户
    (True, True, False): "general_value",  # 一般价值客户
    (True, False, False): "general_development",  # 一般发展客户
    (False, True, False): "general_retention",  # 一般保持客户
    (False, False, False): "general_recovery",  # 一般挽留客户
}


def rfm_layers(buyers: ir.Table, as_of: datetime, column: str) -> ir.Table:
    """customer_id and its layer in `column`, for buyers (customer_id, last_paid_at, orders,
    monetary_fen).

    Recency is whole days from the last order (to the second) to as_of. A buyer is recent at or
    below the buyers' average recency, frequent and valuable at or above the average orders and
    amount. Ties go to the better side; the averages are compared exactly, as
    value × buyers against the total, never as a rounded mean.
    """
    seconds = ibis.literal(as_of).delta(buyers.last_paid_at, unit="second")
    scored = buyers.mutate(recency_days=seconds // SECONDS_PER_DAY)
    totals = scored.aggregate(
        buyer_count=scored.count(),
        recency_total=scored.recency_days.sum(),
        orders_total=scored.orders.sum(),
        monetary_total=scored.monetary_fen.sum(),
    )
    both = scored.cross_join(totals)
    flags = (
        both.recency_days * both.buyer_count <= both.recency_total,
        both.orders * both.buyer_count >= both.orders_total,
        both.monetary_fen * both.buyer_count >= both.monetary_total,
    )
    return both.select("customer_id", **{column: _layer(flags)})


def _layer(flags: tuple[ir.BooleanValue, ...]) -> ir.StringValue:
    cases = []
    for wanted, layer in LAYERS.items():
        matches = [flag if is_high else ~flag for flag, is_high in zip(flags, wanted, strict=True)]
        cases.append((matches[0] & matches[1] & matches[2], layer))
    return ibis.cases(*cases, else_=ibis.null("string"))
