-- credit
SELECT
  "t32"."touchpoint",
  "t32"."conversions",
  "t32"."revenue",
  "t32"."orders",
  "t32"."orders_fen",
  "t8"."entry_type",
  "t21"."cost_fen"
FROM (
  SELECT
    "t30"."touchpoint",
    CAST(COUNT(*) AS DOUBLE) AS "conversions",
    CAST(SUM("t30"."net_fen") AS DOUBLE) AS "revenue",
    COUNT(*) AS "orders",
    SUM("t30"."net_fen") AS "orders_fen"
  FROM (
    SELECT
      "t29"."order_id",
      "t29"."net_fen",
      FIRST(
        "t29"."touchpoint" ORDER BY {'at': "t29"."at", 'touchpoint': "t29"."touchpoint"} DESC
      ) AS "touchpoint"
    FROM (
      SELECT
        "t28"."order_id",
        "t28"."customer_id",
        "t28"."paid_at",
        "t28"."net_fen",
        "t25"."touch_customer",
        "t25"."touchpoint",
        "t25"."at"
      FROM (
        SELECT
          "t26"."order_id",
          "t26"."customer_id",
          "t26"."paid_at",
          "t26"."net_fen"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t22".*
              EXCLUDE ("canonical_id")
            FROM (
              SELECT
                "t20".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  "t16"."order_id",
                  COALESCE("t16"."canonical_id", "t16"."customer_id") AS "customer_id",
                  "t16"."paid_at",
                  "t16"."store",
                  "t16"."touchpoint",
                  "t16"."products",
                  "t16"."net_fen",
                  "t16"."customer_id_right",
                  "t16"."canonical_id"
                FROM (
                  SELECT
                    "t13"."order_id",
                    "t13"."customer_id",
                    "t13"."paid_at",
                    "t13"."store",
                    "t13"."touchpoint",
                    "t13"."products",
                    "t13"."net_fen",
                    "t6"."customer_id" AS "customer_id_right",
                    "t6"."canonical_id"
                  FROM (
                    SELECT
                      "t5"."order_id",
                      "t5"."customer_id",
                      "t5"."paid_at",
                      "t5"."store",
                      "t5"."touchpoint",
                      "t5"."products",
                      COALESCE("t5"."amount_fen", 0) - COALESCE("t5"."refunded_fen", 0) AS "net_fen"
                    FROM "orders" AS "t5"
                    WHERE
                      "t5"."customer_id" IS NOT NULL
                      AND "t5"."paid_at" IS NOT NULL
                      AND "t5"."status" IN ('completed', 'partially_refunded')
                  ) AS "t13"
                  LEFT OUTER JOIN "customer_map" AS "t6"
                    ON "t13"."customer_id" = "t6"."customer_id"
                ) AS "t16"
              ) AS "t20"
            ) AS "t22"
          ) AS "t24"
          WHERE
            "t24"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
            AND "t24"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
            AND "t24"."customer_id" IN (
              SELECT
                "t2"."customer_id"
              FROM "customers" AS "t2"
              WHERE
                "t2"."merged_into_id" IS NULL
            )
        ) AS "t26"
      ) AS "t28"
      LEFT OUTER JOIN (
        SELECT
          "t19"."customer_id" AS "touch_customer",
          "t19"."touchpoint",
          "t19"."at"
        FROM (
          SELECT
            "t17".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              COALESCE("t14"."canonical_id", "t14"."customer_id") AS "customer_id",
              "t14"."touchpoint",
              "t14"."at",
              "t14"."customer_id_right",
              "t14"."canonical_id"
            FROM (
              SELECT
                "t11"."customer_id",
                "t11"."touchpoint",
                "t11"."at",
                "t6"."customer_id" AS "customer_id_right",
                "t6"."canonical_id"
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
              ) AS "t11"
              LEFT OUTER JOIN "customer_map" AS "t6"
                ON "t11"."customer_id" = "t6"."customer_id"
            ) AS "t14"
          ) AS "t17"
        ) AS "t19"
      ) AS "t25"
        ON "t28"."customer_id" = "t25"."touch_customer"
        AND "t25"."at" <= "t28"."paid_at"
        AND "t25"."at" > (
          "t28"."paid_at" - INTERVAL '30' DAY
        )
    ) AS "t29"
    GROUP BY
      1,
      2
  ) AS "t30"
  GROUP BY
    1
) AS "t32"
LEFT OUTER JOIN (
  SELECT
    "t0"."code",
    "t0"."entry_type"
  FROM "touchpoints" AS "t0"
) AS "t8"
  ON "t32"."touchpoint" = "t8"."code"
LEFT OUTER JOIN (
  SELECT
    "t15"."code",
    SUM("t15"."cost") AS "cost_fen"
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
  ) AS "t15"
  GROUP BY
    1
) AS "t21"
  ON "t32"."touchpoint" = "t21"."code"
