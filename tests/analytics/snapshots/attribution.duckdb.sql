-- totals
SELECT
  COUNT(*) AS "conversions",
  SUM("t21"."net_fen") AS "revenue_fen"
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
        "t17".*
        EXCLUDE ("canonical_id")
      FROM (
        SELECT
          "t16".*
          EXCLUDE ("customer_id_right")
        FROM (
          SELECT
            "t13"."order_id",
            COALESCE("t13"."canonical_id", "t13"."customer_id") AS "customer_id",
            "t13"."paid_at",
            "t13"."store",
            "t13"."touchpoint",
            "t13"."products",
            "t13"."net_fen",
            "t13"."customer_id_right",
            "t13"."canonical_id"
          FROM (
            SELECT
              "t11"."order_id",
              "t11"."customer_id",
              "t11"."paid_at",
              "t11"."store",
              "t11"."touchpoint",
              "t11"."products",
              "t11"."net_fen",
              "t8"."customer_id" AS "customer_id_right",
              "t8"."canonical_id"
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
            ) AS "t11"
            LEFT OUTER JOIN (
              SELECT
                *
              FROM "customer_map" AS "t3"
            ) AS "t8"
              ON "t11"."customer_id" = "t8"."customer_id"
          ) AS "t13"
        ) AS "t16"
      ) AS "t17"
    ) AS "t18"
    WHERE
      "t18"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
      AND "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
  ) AS "t20"
  INNER JOIN (
    SELECT
      "t12"."customer_id"
    FROM (
      SELECT
        "t9"."customer_id",
        "t9"."first_seen_at",
        "t9"."created_at",
        "t9"."owner_id",
        "t9"."store_id",
        COALESCE("t9"."first_touchpoint", 'none') AS "touchpoint",
        CASE
          WHEN "t9"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t7"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t9"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t7"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      ) AS "t9"
      LEFT OUTER JOIN (
        SELECT
          *
        FROM "touchpoints" AS "t1"
      ) AS "t7"
        ON "t9"."first_touchpoint" = "t7"."code"
    ) AS "t12"
  ) AS "t15"
    ON "t20"."customer_id" = "t15"."customer_id"
) AS "t21"

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
  *
FROM (
  SELECT
    "t38"."touchpoint",
    SUM("t38"."weight") AS "conversions",
    SUM("t38"."weight" * "t38"."net_fen") AS "revenue"
  FROM (
    SELECT
      "t37"."order_id",
      "t37"."customer_id",
      "t37"."paid_at",
      "t37"."net_fen",
      "t37"."touch_customer",
      "t37"."touchpoint",
      "t37"."at",
      "t37"."position",
      "t37"."touches",
      "t37"."decay",
      "t37"."decay" / SUM("t37"."decay") OVER (
        PARTITION BY "t37"."order_id"
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "weight"
    FROM (
      SELECT
        "t33"."order_id",
        "t33"."customer_id",
        "t33"."paid_at",
        "t33"."net_fen",
        "t33"."touch_customer",
        "t33"."touchpoint",
        "t33"."at",
        "t33"."position",
        "t33"."touches",
        EXP(
          (
            CAST(EPOCH(CAST("t33"."paid_at" AS TIMESTAMP)) - EPOCH(CAST("t33"."at" AS TIMESTAMP)) AS DOUBLE) / 604800.0
          ) * -0.6931471805599453
        ) AS "decay"
      FROM (
        SELECT
          "t29"."order_id",
          "t29"."customer_id",
          "t29"."paid_at",
          "t29"."net_fen",
          "t29"."touch_customer",
          "t29"."touchpoint",
          "t29"."at",
          (
            ROW_NUMBER() OVER (
              PARTITION BY "t29"."order_id"
              ORDER BY "t29"."at" ASC, "t29"."touchpoint" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) + 1 AS "position",
          COUNT(*) OVER (
            PARTITION BY "t29"."order_id"
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS "touches"
        FROM (
          SELECT
            "t28"."order_id",
            "t28"."customer_id",
            "t28"."paid_at",
            "t28"."net_fen",
            "t26"."touch_customer",
            "t26"."touchpoint",
            "t26"."at"
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
                      "t9"."customer_id" AS "customer_id_right",
                      "t9"."canonical_id"
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
                    ) AS "t14"
                    LEFT OUTER JOIN (
                      SELECT
                        *
                      FROM "customer_map" AS "t3"
                    ) AS "t9"
                      ON "t14"."customer_id" = "t9"."customer_id"
                  ) AS "t17"
                ) AS "t21"
              ) AS "t23"
            ) AS "t24"
            WHERE
              "t24"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
              AND "t24"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t28"
          INNER JOIN (
            SELECT
              "t15"."customer_id"
            FROM (
              SELECT
                "t11"."customer_id",
                "t11"."first_seen_at",
                "t11"."created_at",
                "t11"."owner_id",
                "t11"."store_id",
                COALESCE("t11"."first_touchpoint", 'none') AS "touchpoint",
                CASE
                  WHEN "t11"."first_touchpoint" IS NULL
                  THEN 'none'
                  ELSE COALESCE("t8"."group", 'other')
                END AS "touchpoint_type",
                CASE
                  WHEN "t11"."first_touchpoint" IS NULL
                  THEN 'none'
                  ELSE COALESCE("t8"."entry_type", 'owned')
                END AS "entry_type"
              FROM (
                SELECT
                  *
                FROM "customers" AS "t0"
                WHERE
                  "t0"."merged_into_id" IS NULL
              ) AS "t11"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "touchpoints" AS "t1"
              ) AS "t8"
                ON "t11"."first_touchpoint" = "t8"."code"
            ) AS "t15"
          ) AS "t19"
            ON "t28"."customer_id" = "t19"."customer_id"
          INNER JOIN (
            SELECT
              "t22"."customer_id" AS "touch_customer",
              "t22"."touchpoint",
              "t22"."at"
            FROM (
              SELECT
                "t20".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  COALESCE("t16"."canonical_id", "t16"."customer_id") AS "customer_id",
                  "t16"."touchpoint",
                  "t16"."at",
                  "t16"."customer_id_right",
                  "t16"."canonical_id"
                FROM (
                  SELECT
                    "t13"."customer_id",
                    "t13"."touchpoint",
                    "t13"."at",
                    "t9"."customer_id" AS "customer_id_right",
                    "t9"."canonical_id"
                  FROM (
                    SELECT
                      "t4"."customer_id",
                      "t4"."touchpoint",
                      "t4"."timestamp" AS "at"
                    FROM "events" AS "t4"
                    WHERE
                      "t4"."customer_id" IS NOT NULL
                      AND "t4"."touchpoint" IS NOT NULL
                      AND "t4"."timestamp" >= (
                        MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') - INTERVAL '30' DAY
                      )
                      AND "t4"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
                  ) AS "t13"
                  LEFT OUTER JOIN (
                    SELECT
                      *
                    FROM "customer_map" AS "t3"
                  ) AS "t9"
                    ON "t13"."customer_id" = "t9"."customer_id"
                ) AS "t16"
              ) AS "t20"
            ) AS "t22"
          ) AS "t26"
            ON "t28"."customer_id" = "t26"."touch_customer"
            AND "t26"."at" <= "t28"."paid_at"
            AND "t26"."at" > (
              "t28"."paid_at" - INTERVAL '30' DAY
            )
        ) AS "t29"
      ) AS "t33"
    ) AS "t37"
  ) AS "t38"
  GROUP BY
    1
) AS "t39"
UNION ALL
SELECT
  *
FROM (
  SELECT
    'direct' AS "touchpoint",
    CAST("t35"."conversions" AS DOUBLE) AS "conversions",
    CAST("t35"."revenue" AS DOUBLE) AS "revenue"
  FROM (
    SELECT
      COUNT(*) AS "conversions",
      SUM("t34"."net_fen") AS "revenue"
    FROM (
      SELECT
        "t28"."order_id",
        "t28"."customer_id",
        "t28"."paid_at",
        "t28"."net_fen"
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
                  "t9"."customer_id" AS "customer_id_right",
                  "t9"."canonical_id"
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
                ) AS "t14"
                LEFT OUTER JOIN (
                  SELECT
                    *
                  FROM "customer_map" AS "t3"
                ) AS "t9"
                  ON "t14"."customer_id" = "t9"."customer_id"
              ) AS "t17"
            ) AS "t21"
          ) AS "t23"
        ) AS "t24"
        WHERE
          "t24"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
          AND "t24"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      ) AS "t28"
      INNER JOIN (
        SELECT
          "t15"."customer_id"
        FROM (
          SELECT
            "t11"."customer_id",
            "t11"."first_seen_at",
            "t11"."created_at",
            "t11"."owner_id",
            "t11"."store_id",
            COALESCE("t11"."first_touchpoint", 'none') AS "touchpoint",
            CASE
              WHEN "t11"."first_touchpoint" IS NULL
              THEN 'none'
              ELSE COALESCE("t8"."group", 'other')
            END AS "touchpoint_type",
            CASE
              WHEN "t11"."first_touchpoint" IS NULL
              THEN 'none'
              ELSE COALESCE("t8"."entry_type", 'owned')
            END AS "entry_type"
          FROM (
            SELECT
              *
            FROM "customers" AS "t0"
            WHERE
              "t0"."merged_into_id" IS NULL
          ) AS "t11"
          LEFT OUTER JOIN (
            SELECT
              *
            FROM "touchpoints" AS "t1"
          ) AS "t8"
            ON "t11"."first_touchpoint" = "t8"."code"
        ) AS "t15"
      ) AS "t19"
        ON "t28"."customer_id" = "t19"."customer_id"
      ANTI JOIN (
        SELECT DISTINCT
          *
        FROM (
          SELECT
            "t28"."order_id"
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
                      "t9"."customer_id" AS "customer_id_right",
                      "t9"."canonical_id"
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
                    ) AS "t14"
                    LEFT OUTER JOIN (
                      SELECT
                        *
                      FROM "customer_map" AS "t3"
                    ) AS "t9"
                      ON "t14"."customer_id" = "t9"."customer_id"
                  ) AS "t17"
                ) AS "t21"
              ) AS "t23"
            ) AS "t24"
            WHERE
              "t24"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
              AND "t24"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t28"
          INNER JOIN (
            SELECT
              "t15"."customer_id"
            FROM (
              SELECT
                "t11"."customer_id",
                "t11"."first_seen_at",
                "t11"."created_at",
                "t11"."owner_id",
                "t11"."store_id",
                COALESCE("t11"."first_touchpoint", 'none') AS "touchpoint",
                CASE
                  WHEN "t11"."first_touchpoint" IS NULL
                  THEN 'none'
                  ELSE COALESCE("t8"."group", 'other')
                END AS "touchpoint_type",
                CASE
                  WHEN "t11"."first_touchpoint" IS NULL
                  THEN 'none'
                  ELSE COALESCE("t8"."entry_type", 'owned')
                END AS "entry_type"
              FROM (
                SELECT
                  *
                FROM "customers" AS "t0"
                WHERE
                  "t0"."merged_into_id" IS NULL
              ) AS "t11"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "touchpoints" AS "t1"
              ) AS "t8"
                ON "t11"."first_touchpoint" = "t8"."code"
            ) AS "t15"
          ) AS "t19"
            ON "t28"."customer_id" = "t19"."customer_id"
          INNER JOIN (
            SELECT
              "t22"."customer_id" AS "touch_customer",
              "t22"."touchpoint",
              "t22"."at"
            FROM (
              SELECT
                "t20".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  COALESCE("t16"."canonical_id", "t16"."customer_id") AS "customer_id",
                  "t16"."touchpoint",
                  "t16"."at",
                  "t16"."customer_id_right",
                  "t16"."canonical_id"
                FROM (
                  SELECT
                    "t13"."customer_id",
                    "t13"."touchpoint",
                    "t13"."at",
                    "t9"."customer_id" AS "customer_id_right",
                    "t9"."canonical_id"
                  FROM (
                    SELECT
                      "t4"."customer_id",
                      "t4"."touchpoint",
                      "t4"."timestamp" AS "at"
                    FROM "events" AS "t4"
                    WHERE
                      "t4"."customer_id" IS NOT NULL
                      AND "t4"."touchpoint" IS NOT NULL
                      AND "t4"."timestamp" >= (
                        MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') - INTERVAL '30' DAY
                      )
                      AND "t4"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
                  ) AS "t13"
                  LEFT OUTER JOIN (
                    SELECT
                      *
                    FROM "customer_map" AS "t3"
                  ) AS "t9"
                    ON "t13"."customer_id" = "t9"."customer_id"
                ) AS "t16"
              ) AS "t20"
            ) AS "t22"
          ) AS "t26"
            ON "t28"."customer_id" = "t26"."touch_customer"
            AND "t26"."at" <= "t28"."paid_at"
            AND "t26"."at" > (
              "t28"."paid_at" - INTERVAL '30' DAY
            )
        ) AS "t30"
      ) AS "t32"
        ON "t28"."order_id" = "t32"."order_id"
    ) AS "t34"
  ) AS "t35"
) AS "t36"
