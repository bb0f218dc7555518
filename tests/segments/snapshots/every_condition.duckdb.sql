WITH "t42" AS (
  SELECT
    "t32"."customer_id",
    MAX("t32"."paid_at") AS "last_paid_at",
    COUNT(*) AS "orders",
    SUM("t32"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      COALESCE("t6"."canonical_id", "t24"."customer_id") AS "customer_id",
      "t24"."paid_at",
      "t24"."net_fen"
    FROM (
      SELECT
        "t5"."customer_id",
        "t5"."paid_at",
        COALESCE("t5"."amount_fen", 0) - COALESCE("t5"."refunded_fen", 0) AS "net_fen"
      FROM "orders" AS "t5"
      WHERE
        "t5"."customer_id" IS NOT NULL
        AND "t5"."paid_at" IS NOT NULL
        AND "t5"."paid_at" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
        AND "t5"."status" IN ('completed', 'partially_refunded')
    ) AS "t24"
    LEFT OUTER JOIN "customer_map" AS "t6"
      ON "t24"."customer_id" = "t6"."customer_id"
  ) AS "t32"
  GROUP BY
    1
), "t55" AS (
  SELECT
    "t51"."customer_id",
    "t51"."last_paid_at",
    "t51"."orders",
    "t51"."monetary_fen",
    CAST(FLOOR(
      (
        DATE_DIFF('SECOND', "t51"."last_paid_at", MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC'))
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days"
  FROM (
    SELECT
      *
    FROM "t42" AS "t44"
    WHERE
      "t44"."customer_id" IN (
        SELECT
          "t0"."customer_id"
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      )
  ) AS "t51"
)
SELECT
  "t69"."customer_id",
  "t69"."user_id"
FROM (
  SELECT
    "t68"."customer_id",
    "t39"."customer_id" AS "customer_id_right",
    "t39"."user_id"
  FROM (
    SELECT
      "t66"."customer_id"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t15"."customer_id",
          "t15"."first_touchpoint",
          "t15"."traits",
          "t43"."feature_0",
          "t64"."feature_1",
          "t50"."feature_2_count",
          "t50"."feature_2_total",
          "t54"."feature_4",
          "t60"."feature_5"
        FROM (
          SELECT
            "t0"."customer_id",
            "t0"."first_touchpoint",
            "t0"."traits"
          FROM "customers" AS "t0"
          WHERE
            "t0"."merged_into_id" IS NULL
        ) AS "t15"
        LEFT OUTER JOIN (
          SELECT
            "t35"."customer_id",
            TRUE AS "feature_0"
          FROM (
            SELECT DISTINCT
              *
            FROM (
              SELECT
                COALESCE("t6"."canonical_id", "t21"."customer_id") AS "customer_id"
              FROM (
                SELECT
                  "t4"."customer_id"
                FROM "customer_tags" AS "t4"
                WHERE
                  "t4"."tag" = 'VIP'
              ) AS "t21"
              LEFT OUTER JOIN "customer_map" AS "t6"
                ON "t21"."customer_id" = "t6"."customer_id"
            ) AS "t31"
          ) AS "t35"
        ) AS "t43"
          ON "t15"."customer_id" = "t43"."customer_id"
        LEFT OUTER JOIN (
          SELECT
            "t58"."customer_id",
            CASE
              WHEN (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'important_value'
              WHEN (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND NOT (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'important_development'
              WHEN NOT (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'important_retention'
              WHEN NOT (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND NOT (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'important_recovery'
              WHEN (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND NOT (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'general_value'
              WHEN (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND NOT (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND NOT (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'general_development'
              WHEN NOT (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND NOT (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'general_retention'
              WHEN NOT (
                (
                  "t58"."recency_days" * "t62"."buyer_count"
                ) <= "t62"."recency_total"
              )
              AND NOT (
                (
                  "t58"."orders" * "t62"."buyer_count"
                ) >= "t62"."orders_total"
              )
              AND NOT (
                (
                  "t58"."monetary_fen" * "t62"."buyer_count"
                ) >= "t62"."monetary_total"
              )
              THEN 'general_recovery'
              ELSE CAST(NULL AS TEXT)
            END AS "feature_1"
          FROM "t55" AS "t58"
          CROSS JOIN (
            SELECT
              COUNT(*) AS "buyer_count",
              SUM("t57"."recency_days") AS "recency_total",
              SUM("t57"."orders") AS "orders_total",
              SUM("t57"."monetary_fen") AS "monetary_total"
            FROM "t55" AS "t57"
          ) AS "t62"
        ) AS "t64"
          ON "t15"."customer_id" = "t64"."customer_id"
        INNER JOIN (
          SELECT
            "t30"."customer_id",
            COUNT(*) AS "feature_2_count",
            SUM(
              COALESCE(
                CASE
                  WHEN JSON_TYPE(CAST("t30"."properties" AS JSON) -> '$.revenue') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                  THEN CAST(CAST("t30"."properties" AS JSON) -> '$.revenue' AS DOUBLE)
                  ELSE NULL
                END,
                0.0
              )
            ) AS "feature_2_total"
          FROM (
            SELECT
              COALESCE("t6"."canonical_id", "t20"."customer_id") AS "customer_id",
              "t20"."timestamp",
              "t20"."properties"
            FROM (
              SELECT
                "t3"."customer_id",
                "t3"."timestamp",
                "t3"."properties"
              FROM "events" AS "t3"
              WHERE
                "t3"."event" = 'Order Completed'
                AND "t3"."customer_id" IS NOT NULL
                AND "t3"."timestamp" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                AND "t3"."date" <= MAKE_DATE(2026, 11, 23)
                AND "t3"."date" >= MAKE_DATE(2026, 5, 25)
                AND "t3"."timestamp" > MAKE_TIMESTAMPTZ(2026, 5, 25, 16, 0, 0.0, 'UTC')
            ) AS "t20"
            LEFT OUTER JOIN "customer_map" AS "t6"
              ON "t20"."customer_id" = "t6"."customer_id"
          ) AS "t30"
          GROUP BY
            1
        ) AS "t50"
          ON "t15"."customer_id" = "t50"."customer_id"
        ANTI JOIN (
          SELECT
            "t40"."customer_id"
          FROM (
            SELECT
              COALESCE("t6"."canonical_id", "t27"."customer_id") AS "customer_id",
              "t27"."timestamp",
              "t27"."properties"
            FROM (
              SELECT
                "t23"."customer_id",
                "t23"."timestamp",
                "t23"."properties"
              FROM (
                SELECT
                  *
                FROM "events" AS "t3"
                WHERE
                  "t3"."event" = 'Coupon Redeemed'
                  AND "t3"."customer_id" IS NOT NULL
                  AND "t3"."timestamp" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                  AND "t3"."date" <= MAKE_DATE(2026, 11, 23)
                  AND "t3"."date" >= MAKE_DATE(2026, 10, 22)
                  AND COALESCE((
                    "t3"."properties" ->> '$.coupon_id'
                  ) IN ('C1'), FALSE)
                  AND "t3"."timestamp" > MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
              ) AS "t23"
            ) AS "t27"
            LEFT OUTER JOIN "customer_map" AS "t6"
              ON "t27"."customer_id" = "t6"."customer_id"
          ) AS "t40"
        ) AS "t47"
          ON "t15"."customer_id" = "t47"."customer_id"
        LEFT OUTER JOIN (
          SELECT
            "t16"."customer_id",
            CASE
              WHEN (
                COALESCE("t16"."first_seen_at", "t16"."created_at") > MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
              )
              AND (
                COALESCE("t16"."first_seen_at", "t16"."created_at") <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
              )
              THEN 'new'
              WHEN "t46"."last_paid_at" > MAKE_TIMESTAMPTZ(2026, 8, 23, 16, 0, 0.0, 'UTC')
              THEN 'active'
              WHEN "t46"."last_paid_at" >= MAKE_TIMESTAMPTZ(2026, 5, 25, 16, 0, 0.0, 'UTC')
              THEN 'silent'
              WHEN "t46"."last_paid_at" IS NOT NULL
              THEN 'churned'
              WHEN COALESCE("t16"."first_seen_at", "t16"."created_at") <= MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
              THEN 'silent'
              ELSE CAST(NULL AS TEXT)
            END AS "feature_4"
          FROM (
            SELECT
              *
            FROM "customers" AS "t0"
            WHERE
              "t0"."merged_into_id" IS NULL
          ) AS "t16"
          LEFT OUTER JOIN "t42" AS "t46"
            ON "t16"."customer_id" = "t46"."customer_id"
        ) AS "t54"
          ON "t15"."customer_id" = "t54"."customer_id"
        INNER JOIN (
          SELECT
            "t56"."customer_id",
            TRUE AS "feature_5"
          FROM (
            SELECT DISTINCT
              "t53"."customer_id"
            FROM (
              SELECT
                "t49"."customer_id",
                "t49"."started",
                MIN("t49"."step_at") AS "reached"
              FROM (
                SELECT
                  "t37"."customer_id",
                  "t37"."started",
                  "t37"."reached",
                  "t38"."step_customer",
                  "t38"."step_at"
                FROM (
                  SELECT DISTINCT
                    "t28"."customer_id",
                    "t28"."timestamp" AS "started",
                    "t28"."timestamp" AS "reached"
                  FROM (
                    SELECT
                      COALESCE("t6"."canonical_id", "t18"."customer_id") AS "customer_id",
                      "t18"."timestamp",
                      "t18"."properties"
                    FROM (
                      SELECT
                        "t3"."customer_id",
                        "t3"."timestamp",
                        "t3"."properties"
                      FROM "events" AS "t3"
                      WHERE
                        "t3"."event" = 'Product Viewed'
                        AND "t3"."customer_id" IS NOT NULL
                        AND "t3"."timestamp" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                        AND "t3"."date" <= MAKE_DATE(2026, 11, 23)
                    ) AS "t18"
                    LEFT OUTER JOIN "customer_map" AS "t6"
                      ON "t18"."customer_id" = "t6"."customer_id"
                  ) AS "t28"
                ) AS "t37"
                INNER JOIN (
                  SELECT
                    "t29"."customer_id" AS "step_customer",
                    "t29"."timestamp" AS "step_at"
                  FROM (
                    SELECT
                      COALESCE("t6"."canonical_id", "t19"."customer_id") AS "customer_id",
                      "t19"."timestamp",
                      "t19"."properties"
                    FROM (
                      SELECT
                        "t3"."customer_id",
                        "t3"."timestamp",
                        "t3"."properties"
                      FROM "events" AS "t3"
                      WHERE
                        "t3"."event" = 'Checkout Started'
                        AND "t3"."customer_id" IS NOT NULL
                        AND "t3"."timestamp" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                        AND "t3"."date" <= MAKE_DATE(2026, 11, 23)
                    ) AS "t19"
                    LEFT OUTER JOIN "customer_map" AS "t6"
                      ON "t19"."customer_id" = "t6"."customer_id"
                  ) AS "t29"
                ) AS "t38"
                  ON "t37"."customer_id" = "t38"."step_customer"
                  AND "t38"."step_at" > "t37"."reached"
                  AND "t38"."step_at" <= (
                    "t37"."started" + INTERVAL '3' DAY
                  )
              ) AS "t49"
              GROUP BY
                1,
                2
            ) AS "t53"
          ) AS "t56"
        ) AS "t60"
          ON "t15"."customer_id" = "t60"."customer_id"
      ) AS "t65"
      WHERE
        COALESCE((
          "t65"."traits" ->> '$.city'
        ) IN ('上海', '杭州'), FALSE)
        AND (
          (
            "t65"."feature_0" IS NOT NULL
          )
          OR COALESCE("t65"."feature_1" IN ('important_value'), FALSE)
        )
        AND COALESCE("t65"."feature_2_count", 0) >= 1
        AND COALESCE("t65"."feature_2_total", 0.0) >= 500
        AND COALESCE("t65"."feature_4" IN ('active', 'silent'), FALSE)
        AND "t65"."feature_5" IS NOT NULL
        AND COALESCE("t65"."first_touchpoint" IN ('poster'), FALSE)
    ) AS "t66"
  ) AS "t68"
  LEFT OUTER JOIN (
    SELECT
      "t26"."customer_id",
      MIN("t26"."user_id") AS "user_id"
    FROM (
      SELECT
        COALESCE("t6"."canonical_id", "t17"."customer_id") AS "customer_id",
        "t17"."user_id"
      FROM (
        SELECT
          "t1"."customer_id",
          "t1"."value" AS "user_id"
        FROM "identities" AS "t1"
        WHERE
          "t1"."type" = 'user_id'
      ) AS "t17"
      LEFT OUTER JOIN "customer_map" AS "t6"
        ON "t17"."customer_id" = "t6"."customer_id"
    ) AS "t26"
    GROUP BY
      1
  ) AS "t39"
    ON "t68"."customer_id" = "t39"."customer_id"
) AS "t69"
ORDER BY
  "t69"."customer_id" ASC
