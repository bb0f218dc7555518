-- credit
SELECT
  "t33"."touchpoint",
  "t33"."conversions",
  "t33"."revenue",
  "t33"."orders",
  "t33"."orders_fen",
  "t8"."entry_type",
  "t22"."cost_fen"
FROM (
  SELECT
    "t31"."touchpoint",
    CAST(COUNT(*) AS DOUBLE) AS "conversions",
    CAST(SUM("t31"."net_fen") AS DOUBLE) AS "revenue",
    COUNT(*) AS "orders",
    SUM("t31"."net_fen") AS "orders_fen"
  FROM (
    SELECT
      "t30"."order_id",
      "t30"."net_fen",
      FIRST(
        "t30"."touchpoint" ORDER BY {'at': "t30"."at", 'touchpoint': "t30"."touchpoint"} DESC
      ) AS "touchpoint"
    FROM (
      SELECT
        "t29"."order_id",
        "t29"."customer_id",
        "t29"."paid_at",
        "t29"."net_fen",
        "t26"."touch_customer",
        "t26"."touchpoint",
        "t26"."at"
      FROM (
        SELECT
          "t27"."order_id",
          "t27"."customer_id",
          "t27"."paid_at",
          "t27"."net_fen"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t23".*
              EXCLUDE ("canonical_id")
            FROM (
              SELECT
                "t21".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  "t17"."order_id",
                  COALESCE("t17"."canonical_id", "t17"."customer_id") AS "customer_id",
                  "t17"."paid_at",
                  "t17"."store",
                  "t17"."touchpoint",
                  "t17"."products",
                  "t17"."net_fen",
                  "t17"."customer_id_right",
                  "t17"."canonical_id"
                FROM (
                  SELECT
                    "t14"."order_id",
                    "t14"."customer_id",
                    "t14"."paid_at",
                    "t14"."store",
                    "t14"."touchpoint",
                    "t14"."products",
                    "t14"."net_fen",
                    "t11"."customer_id" AS "customer_id_right",
                    "t11"."canonical_id"
                  FROM (
                    SELECT
                      "t4"."order_id",
                      "t4"."customer_id",
                      "t4"."paid_at",
                      "t4"."store",
                      "t4"."touchpoint",
                      "t4"."products",
                      COALESCE("t4"."amount_fen", 0) - COALESCE("t4"."refunded_fen", 0) AS "net_fen"
                    FROM "orders" AS "t4"
                    WHERE
                      "t4"."customer_id" IS NOT NULL
                      AND "t4"."paid_at" IS NOT NULL
                      AND "t4"."status" IN ('completed', 'partially_refunded')
                  ) AS "t14"
                  LEFT OUTER JOIN (
                    SELECT
                      *
                    FROM "customer_map" AS "t5"
                  ) AS "t11"
                    ON "t14"."customer_id" = "t11"."customer_id"
                ) AS "t17"
              ) AS "t21"
            ) AS "t23"
          ) AS "t25"
          WHERE
            "t25"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
            AND "t25"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
            AND "t25"."customer_id" IN (
              SELECT
                "t2"."customer_id"
              FROM "customers" AS "t2"
              WHERE
                "t2"."merged_into_id" IS NULL
            )
        ) AS "t27"
      ) AS "t29"
      LEFT OUTER JOIN (
        SELECT
          "t20"."customer_id" AS "touch_customer",
          "t20"."touchpoint",
          "t20"."at"
        FROM (
          SELECT
            "t18".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              COALESCE("t15"."canonical_id", "t15"."customer_id") AS "customer_id",
              "t15"."touchpoint",
              "t15"."at",
              "t15"."customer_id_right",
              "t15"."canonical_id"
            FROM (
              SELECT
                "t12"."customer_id",
                "t12"."touchpoint",
                "t12"."at",
                "t11"."customer_id" AS "customer_id_right",
                "t11"."canonical_id"
              FROM (
                SELECT
                  "t3"."customer_id",
                  "t3"."touchpoint",
                  "t3"."timestamp" AS "at"
                FROM "events" AS "t3"
                WHERE
                  "t3"."customer_id" IS NOT NULL
                  AND "t3"."touchpoint" IS NOT NULL
                  AND "t3"."timestamp" >= (
                    MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') - INTERVAL '30' DAY
                  )
                  AND "t3"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
              ) AS "t12"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "customer_map" AS "t5"
              ) AS "t11"
                ON "t12"."customer_id" = "t11"."customer_id"
            ) AS "t15"
          ) AS "t18"
        ) AS "t20"
      ) AS "t26"
        ON "t29"."customer_id" = "t26"."touch_customer"
        AND "t26"."at" <= "t29"."paid_at"
        AND "t26"."at" > (
          "t29"."paid_at" - INTERVAL '30' DAY
        )
    ) AS "t30"
    GROUP BY
      1,
      2
  ) AS "t31"
  GROUP BY
    1
) AS "t33"
LEFT OUTER JOIN (
  SELECT
    "t0"."code",
    "t0"."entry_type"
  FROM "touchpoints" AS "t0"
) AS "t8"
  ON "t33"."touchpoint" = "t8"."code"
LEFT OUTER JOIN (
  SELECT
    "t16"."code",
    SUM("t16"."cost") AS "cost_fen"
  FROM (
    SELECT
      "t1"."code",
      "t1"."period_start",
      "t1"."period_end",
      "t1"."cost_fen",
      "t1"."cost_fen" * CASE
        WHEN (
          EPOCH(CAST("t1"."period_end" AS TIMESTAMP)) - EPOCH(CAST("t1"."period_start" AS TIMESTAMP))
        ) > 0
        THEN CAST(EPOCH(
          CAST(LEAST("t1"."period_end", MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')) AS TIMESTAMP)
        ) - EPOCH(
          CAST(GREATEST("t1"."period_start", MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')) AS TIMESTAMP)
        ) AS DOUBLE) / (
          EPOCH(CAST("t1"."period_end" AS TIMESTAMP)) - EPOCH(CAST("t1"."period_start" AS TIMESTAMP))
        )
        ELSE 1.0
      END AS "cost"
    FROM "temp"."main"."empty_touchpoint_costs" AS "t1"
    WHERE
      "t1"."period_start" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      AND "t1"."period_end" > MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
  ) AS "t16"
  GROUP BY
    1
) AS "t22"
  ON "t33"."touchpoint" = "t22"."code"
