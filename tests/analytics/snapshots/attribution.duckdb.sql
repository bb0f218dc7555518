-- totals
SELECT
  COUNT(*) AS "conversions",
  SUM("t13"."net_fen") AS "revenue_fen"
FROM (
  SELECT
    "t12"."order_id",
    "t12"."customer_id",
    "t12"."paid_at",
    "t12"."net_fen"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t10".*
        EXCLUDE ("canonical_id")
      FROM (
        SELECT
          "t9".*
          EXCLUDE ("customer_id_right")
        FROM (
          SELECT
            "t8"."order_id",
            COALESCE("t8"."canonical_id", "t8"."customer_id") AS "customer_id",
            "t8"."paid_at",
            "t8"."store",
            "t8"."touchpoint",
            "t8"."products",
            "t8"."net_fen",
            "t8"."customer_id_right",
            "t8"."canonical_id"
          FROM (
            SELECT
              "t7"."order_id",
              "t7"."customer_id",
              "t7"."paid_at",
              "t7"."store",
              "t7"."touchpoint",
              "t7"."products",
              "t7"."net_fen",
              "t5"."customer_id" AS "customer_id_right",
              "t5"."canonical_id"
            FROM (
              SELECT
                "t1"."order_id",
                "t1"."customer_id",
                "t1"."paid_at",
                "t1"."store",
                "t1"."touchpoint",
                "t1"."products",
                COALESCE("t1"."amount_fen", 0) - COALESCE("t1"."refunded_fen", 0) AS "net_fen"
              FROM "orders" AS "t1"
              WHERE
                "t1"."customer_id" IS NOT NULL
                AND "t1"."paid_at" IS NOT NULL
                AND "t1"."status" IN ('completed', 'partially_refunded')
            ) AS "t7"
            LEFT OUTER JOIN (
              SELECT
                *
              FROM "customer_map" AS "t2"
            ) AS "t5"
              ON "t7"."customer_id" = "t5"."customer_id"
          ) AS "t8"
        ) AS "t9"
      ) AS "t10"
    ) AS "t11"
    WHERE
      "t11"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
      AND "t11"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      AND "t11"."customer_id" IN (
        SELECT
          "t0"."customer_id"
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      )
  ) AS "t12"
) AS "t13"

-- points
SELECT
  "t0"."code",
  "t0"."entry_type"
FROM "touchpoints" AS "t0"

-- costs
SELECT
  "t1"."code",
  SUM("t1"."cost") AS "cost_fen"
FROM (
  SELECT
    "t0"."code",
    "t0"."period_start",
    "t0"."period_end",
    "t0"."cost_fen",
    "t0"."cost_fen" * CASE
      WHEN (
        EPOCH(CAST("t0"."period_end" AS TIMESTAMP)) - EPOCH(CAST("t0"."period_start" AS TIMESTAMP))
      ) > 0
      THEN CAST(EPOCH(
        CAST(LEAST("t0"."period_end", MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')) AS TIMESTAMP)
      ) - EPOCH(
        CAST(GREATEST("t0"."period_start", MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')) AS TIMESTAMP)
      ) AS DOUBLE) / (
        EPOCH(CAST("t0"."period_end" AS TIMESTAMP)) - EPOCH(CAST("t0"."period_start" AS TIMESTAMP))
      )
      ELSE 1.0
    END AS "cost"
  FROM "temp"."main"."empty_touchpoint_costs" AS "t0"
  WHERE
    "t0"."period_start" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    AND "t0"."period_end" > MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
) AS "t1"
GROUP BY
  1

-- credit
SELECT
  "t26"."touchpoint",
  SUM("t26"."weight") AS "conversions",
  SUM("t26"."weight" * "t26"."net_fen") AS "revenue",
  SUM(CAST("t26"."position" = 1 AS INT)) AS "touched_orders",
  SUM(CASE WHEN "t26"."position" = 1 THEN "t26"."net_fen" ELSE 0 END) AS "touched_fen"
FROM (
  SELECT
    "t25"."order_id",
    "t25"."customer_id",
    "t25"."paid_at",
    "t25"."net_fen",
    "t25"."touch_customer",
    "t25"."touchpoint",
    "t25"."at",
    "t25"."position",
    "t25"."touches",
    "t25"."decay",
    "t25"."decay" / SUM("t25"."decay") OVER (
      PARTITION BY "t25"."order_id"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "weight"
  FROM (
    SELECT
      "t24"."order_id",
      "t24"."customer_id",
      "t24"."paid_at",
      "t24"."net_fen",
      "t24"."touch_customer",
      "t24"."touchpoint",
      "t24"."at",
      "t24"."position",
      "t24"."touches",
      EXP(
        (
          CAST(CAST(FLOOR((
            EPOCH_US("t24"."paid_at")
          ) / (
            1000000
          )) AS BIGINT) - CAST(FLOOR((
            EPOCH_US("t24"."at")
          ) / (
            1000000
          )) AS BIGINT) AS DOUBLE) / 604800.0
        ) * -0.6931471805599453
      ) AS "decay"
    FROM (
      SELECT
        "t23"."order_id",
        "t23"."customer_id",
        "t23"."paid_at",
        "t23"."net_fen",
        "t23"."touch_customer",
        "t23"."touchpoint",
        "t23"."at",
        (
          ROW_NUMBER() OVER (
            PARTITION BY "t23"."order_id"
            ORDER BY "t23"."at" ASC, "t23"."touchpoint" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) - 1
        ) + 1 AS "position",
        COUNT(*) OVER (
          PARTITION BY "t23"."order_id"
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS "touches"
      FROM (
        SELECT
          "t22"."order_id",
          "t22"."customer_id",
          "t22"."paid_at",
          "t22"."net_fen",
          "t19"."touch_customer",
          "t19"."touchpoint",
          "t19"."at"
        FROM (
          SELECT
            "t20"."order_id",
            "t20"."customer_id",
            "t20"."paid_at",
            "t20"."net_fen"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t16".*
                EXCLUDE ("canonical_id")
              FROM (
                SELECT
                  "t15".*
                  EXCLUDE ("customer_id_right")
                FROM (
                  SELECT
                    "t12"."order_id",
                    COALESCE("t12"."canonical_id", "t12"."customer_id") AS "customer_id",
                    "t12"."paid_at",
                    "t12"."store",
                    "t12"."touchpoint",
                    "t12"."products",
                    "t12"."net_fen",
                    "t12"."customer_id_right",
                    "t12"."canonical_id"
                  FROM (
                    SELECT
                      "t10"."order_id",
                      "t10"."customer_id",
                      "t10"."paid_at",
                      "t10"."store",
                      "t10"."touchpoint",
                      "t10"."products",
                      "t10"."net_fen",
                      "t7"."customer_id" AS "customer_id_right",
                      "t7"."canonical_id"
                    FROM (
                      SELECT
                        "t2"."order_id",
                        "t2"."customer_id",
                        "t2"."paid_at",
                        "t2"."store",
                        "t2"."touchpoint",
                        "t2"."products",
                        COALESCE("t2"."amount_fen", 0) - COALESCE("t2"."refunded_fen", 0) AS "net_fen"
                      FROM "orders" AS "t2"
                      WHERE
                        "t2"."customer_id" IS NOT NULL
                        AND "t2"."paid_at" IS NOT NULL
                        AND "t2"."status" IN ('completed', 'partially_refunded')
                    ) AS "t10"
                    LEFT OUTER JOIN (
                      SELECT
                        *
                      FROM "customer_map" AS "t3"
                    ) AS "t7"
                      ON "t10"."customer_id" = "t7"."customer_id"
                  ) AS "t12"
                ) AS "t15"
              ) AS "t16"
            ) AS "t18"
            WHERE
              "t18"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
              AND "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
              AND "t18"."customer_id" IN (
                SELECT
                  "t0"."customer_id"
                FROM "customers" AS "t0"
                WHERE
                  "t0"."merged_into_id" IS NULL
              )
          ) AS "t20"
        ) AS "t22"
        INNER JOIN (
          SELECT
            "t14"."customer_id" AS "touch_customer",
            "t14"."touchpoint",
            "t14"."at"
          FROM (
            SELECT
              "t13".*
              EXCLUDE ("customer_id_right")
            FROM (
              SELECT
                COALESCE("t11"."canonical_id", "t11"."customer_id") AS "customer_id",
                "t11"."touchpoint",
                "t11"."at",
                "t11"."customer_id_right",
                "t11"."canonical_id"
              FROM (
                SELECT
                  "t8"."customer_id",
                  "t8"."touchpoint",
                  "t8"."at",
                  "t7"."customer_id" AS "customer_id_right",
                  "t7"."canonical_id"
                FROM (
                  SELECT
                    "t1"."customer_id",
                    "t1"."touchpoint",
                    "t1"."timestamp" AS "at"
                  FROM "events" AS "t1"
                  WHERE
                    "t1"."customer_id" IS NOT NULL
                    AND "t1"."touchpoint" IS NOT NULL
                    AND "t1"."timestamp" >= (
                      MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') - INTERVAL '30' DAY
                    )
                    AND "t1"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
                ) AS "t8"
                LEFT OUTER JOIN (
                  SELECT
                    *
                  FROM "customer_map" AS "t3"
                ) AS "t7"
                  ON "t8"."customer_id" = "t7"."customer_id"
              ) AS "t11"
            ) AS "t13"
          ) AS "t14"
        ) AS "t19"
          ON "t22"."customer_id" = "t19"."touch_customer"
          AND "t19"."at" <= "t22"."paid_at"
          AND "t19"."at" > (
            "t22"."paid_at" - INTERVAL '30' DAY
          )
      ) AS "t23"
    ) AS "t24"
  ) AS "t25"
) AS "t26"
GROUP BY
  1
