WITH "t44" AS (
  SELECT
    "t38"."customer_id",
    MAX("t38"."paid_at") AS "last_paid_at",
    COUNT(*) AS "orders",
    SUM("t38"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      COALESCE("t29"."canonical_id", "t29"."customer_id") AS "customer_id",
      "t29"."paid_at",
      "t29"."net_fen"
    FROM (
      SELECT
        "t21"."customer_id",
        "t21"."paid_at",
        "t21"."net_fen",
        "t6"."customer_id" AS "customer_id_right",
        "t6"."canonical_id"
      FROM (
        SELECT
          "t4"."customer_id",
          "t4"."paid_at",
          COALESCE("t4"."amount_fen", 0) - COALESCE("t4"."refunded_fen", 0) AS "net_fen"
        FROM "orders" AS "t4"
        WHERE
          "t4"."customer_id" IS NOT NULL
          AND "t4"."paid_at" IS NOT NULL
          AND "t4"."paid_at" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
          AND "t4"."status" IN ('completed', 'partially_refunded')
      ) AS "t21"
      LEFT OUTER JOIN "customer_map" AS "t6"
        ON "t21"."customer_id" = "t6"."customer_id"
    ) AS "t29"
  ) AS "t38"
  GROUP BY
    1
), "t60" AS (
  SELECT
    "t53"."customer_id",
    "t53"."last_paid_at",
    "t53"."orders",
    "t53"."monetary_fen",
    CAST(FLOOR(
      (
        DATE_DIFF('SECOND', "t53"."last_paid_at", MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC'))
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days"
  FROM (
    SELECT
      *
    FROM "t44" AS "t45"
    WHERE
      "t45"."customer_id" IN (
        SELECT
          "t2"."customer_id"
        FROM "customers" AS "t2"
        WHERE
          "t2"."merged_into_id" IS NULL
      )
  ) AS "t53"
)
SELECT
  "t85"."customer_id",
  "t85"."user_id"
FROM (
  SELECT
    "t84"."customer_id",
    "t42"."customer_id" AS "customer_id_right",
    "t42"."user_id"
  FROM (
    SELECT
      "t82"."customer_id"
    FROM (
      SELECT
        "t81".*
        EXCLUDE ("customer_id_right")
      FROM (
        SELECT
          "t80"."customer_id",
          "t80"."merged_into_id",
          "t80"."created_at",
          "t80"."first_seen_at",
          "t80"."first_touchpoint",
          "t80"."last_touchpoint",
          "t80"."owner_id",
          "t80"."store_id",
          "t80"."traits",
          "t80"."feature_0",
          "t80"."feature_1",
          "t80"."feature_2_count",
          "t80"."feature_2_total",
          "t80"."feature_3_count",
          "t80"."feature_4",
          "t63"."customer_id" AS "customer_id_right",
          "t63"."feature_5"
        FROM (
          SELECT
            "t78".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              "t77"."customer_id",
              "t77"."merged_into_id",
              "t77"."created_at",
              "t77"."first_seen_at",
              "t77"."first_touchpoint",
              "t77"."last_touchpoint",
              "t77"."owner_id",
              "t77"."store_id",
              "t77"."traits",
              "t77"."feature_0",
              "t77"."feature_1",
              "t77"."feature_2_count",
              "t77"."feature_2_total",
              "t77"."feature_3_count",
              "t59"."customer_id" AS "customer_id_right",
              "t59"."feature_4"
            FROM (
              SELECT
                "t75".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  "t74"."customer_id",
                  "t74"."merged_into_id",
                  "t74"."created_at",
                  "t74"."first_seen_at",
                  "t74"."first_touchpoint",
                  "t74"."last_touchpoint",
                  "t74"."owner_id",
                  "t74"."store_id",
                  "t74"."traits",
                  "t74"."feature_0",
                  "t74"."feature_1",
                  "t74"."feature_2_count",
                  "t74"."feature_2_total",
                  "t49"."customer_id" AS "customer_id_right",
                  "t49"."feature_3_count"
                FROM (
                  SELECT
                    "t72".*
                    EXCLUDE ("customer_id_right")
                  FROM (
                    SELECT
                      "t71"."customer_id",
                      "t71"."merged_into_id",
                      "t71"."created_at",
                      "t71"."first_seen_at",
                      "t71"."first_touchpoint",
                      "t71"."last_touchpoint",
                      "t71"."owner_id",
                      "t71"."store_id",
                      "t71"."traits",
                      "t71"."feature_0",
                      "t71"."feature_1",
                      "t52"."customer_id" AS "customer_id_right",
                      "t52"."feature_2_count",
                      "t52"."feature_2_total"
                    FROM (
                      SELECT
                        "t69".*
                        EXCLUDE ("customer_id_right")
                      FROM (
                        SELECT
                          "t56"."customer_id",
                          "t56"."merged_into_id",
                          "t56"."created_at",
                          "t56"."first_seen_at",
                          "t56"."first_touchpoint",
                          "t56"."last_touchpoint",
                          "t56"."owner_id",
                          "t56"."store_id",
                          "t56"."traits",
                          "t56"."feature_0",
                          "t68"."customer_id" AS "customer_id_right",
                          "t68"."feature_1"
                        FROM (
                          SELECT
                            "t51".*
                            EXCLUDE ("customer_id_right")
                          FROM (
                            SELECT
                              "t15"."customer_id",
                              "t15"."merged_into_id",
                              "t15"."created_at",
                              "t15"."first_seen_at",
                              "t15"."first_touchpoint",
                              "t15"."last_touchpoint",
                              "t15"."owner_id",
                              "t15"."store_id",
                              "t15"."traits",
                              "t41"."customer_id" AS "customer_id_right",
                              "t41"."feature_0"
                            FROM (
                              SELECT
                                *
                              FROM "customers" AS "t2"
                              WHERE
                                "t2"."merged_into_id" IS NULL
                            ) AS "t15"
                            LEFT OUTER JOIN (
                              SELECT
                                "t34"."customer_id",
                                TRUE AS "feature_0"
                              FROM (
                                SELECT DISTINCT
                                  COALESCE("t28"."canonical_id", "t28"."customer_id") AS "customer_id"
                                FROM (
                                  SELECT
                                    "t20"."customer_id",
                                    "t6"."customer_id" AS "customer_id_right",
                                    "t6"."canonical_id"
                                  FROM (
                                    SELECT
                                      "t5"."customer_id"
                                    FROM "customer_tags" AS "t5"
                                    WHERE
                                      "t5"."tag" = 'VIP'
                                  ) AS "t20"
                                  LEFT OUTER JOIN "customer_map" AS "t6"
                                    ON "t20"."customer_id" = "t6"."customer_id"
                                ) AS "t28"
                              ) AS "t34"
                            ) AS "t41"
                              ON "t15"."customer_id" = "t41"."customer_id"
                          ) AS "t51"
                        ) AS "t56"
                        LEFT OUTER JOIN (
                          SELECT
                            "t64"."customer_id",
                            CASE
                              WHEN (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'important_value'
                              WHEN (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND NOT (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'important_development'
                              WHEN NOT (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'important_retention'
                              WHEN NOT (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND NOT (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'important_recovery'
                              WHEN (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND NOT (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'general_value'
                              WHEN (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND NOT (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND NOT (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'general_development'
                              WHEN NOT (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND NOT (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'general_retention'
                              WHEN NOT (
                                (
                                  "t64"."recency_days" * "t66"."buyer_count"
                                ) <= "t66"."recency_total"
                              )
                              AND NOT (
                                (
                                  "t64"."orders" * "t66"."buyer_count"
                                ) >= "t66"."orders_total"
                              )
                              AND NOT (
                                (
                                  "t64"."monetary_fen" * "t66"."buyer_count"
                                ) >= "t66"."monetary_total"
                              )
                              THEN 'general_recovery'
                              ELSE CAST(NULL AS TEXT)
                            END AS "feature_1"
                          FROM "t60" AS "t64"
                          CROSS JOIN (
                            SELECT
                              COUNT(*) AS "buyer_count",
                              SUM("t62"."recency_days") AS "recency_total",
                              SUM("t62"."orders") AS "orders_total",
                              SUM("t62"."monetary_fen") AS "monetary_total"
                            FROM "t60" AS "t62"
                          ) AS "t66"
                        ) AS "t68"
                          ON "t56"."customer_id" = "t68"."customer_id"
                      ) AS "t69"
                    ) AS "t71"
                    LEFT OUTER JOIN (
                      SELECT
                        "t33"."customer_id",
                        COUNT(*) AS "feature_2_count",
                        SUM(
                          COALESCE(
                            CASE
                              WHEN JSON_TYPE(CAST("t33"."properties" AS JSON) -> '$.revenue') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                              THEN CAST(CAST("t33"."properties" AS JSON) -> '$.revenue' AS DOUBLE)
                              ELSE NULL
                            END,
                            0.0
                          )
                        ) AS "feature_2_total"
                      FROM (
                        SELECT
                          COALESCE("t27"."canonical_id", "t27"."customer_id") AS "customer_id",
                          "t27"."timestamp",
                          "t27"."properties"
                        FROM (
                          SELECT
                            "t18"."customer_id",
                            "t18"."timestamp",
                            "t18"."properties",
                            "t6"."customer_id" AS "customer_id_right",
                            "t6"."canonical_id"
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
                          ) AS "t18"
                          LEFT OUTER JOIN "customer_map" AS "t6"
                            ON "t18"."customer_id" = "t6"."customer_id"
                        ) AS "t27"
                      ) AS "t33"
                      GROUP BY
                        1
                    ) AS "t52"
                      ON "t71"."customer_id" = "t52"."customer_id"
                  ) AS "t72"
                ) AS "t74"
                LEFT OUTER JOIN (
                  SELECT
                    "t43"."customer_id",
                    COUNT(*) AS "feature_3_count"
                  FROM (
                    SELECT
                      COALESCE("t35"."canonical_id", "t35"."customer_id") AS "customer_id",
                      "t35"."timestamp",
                      "t35"."properties"
                    FROM (
                      SELECT
                        "t24"."customer_id",
                        "t24"."timestamp",
                        "t24"."properties",
                        "t6"."customer_id" AS "customer_id_right",
                        "t6"."canonical_id"
                      FROM (
                        SELECT
                          "t3"."customer_id",
                          "t3"."timestamp",
                          "t3"."properties"
                        FROM "events" AS "t3"
                        WHERE
                          "t3"."event" = 'Coupon Redeemed'
                          AND "t3"."customer_id" IS NOT NULL
                          AND "t3"."timestamp" <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                          AND "t3"."date" <= MAKE_DATE(2026, 11, 23)
                          AND "t3"."date" >= MAKE_DATE(2026, 10, 22)
                          AND COALESCE(
                            CASE
                              WHEN JSON_TYPE(CAST("t3"."properties" AS JSON) -> '$.coupon_id') = 'VARCHAR'
                              THEN (
                                CAST("t3"."properties" AS JSON) -> '$.coupon_id'
                              ) ->> '$'
                              ELSE NULL
                            END = 'C1',
                            FALSE
                          )
                          AND "t3"."timestamp" > MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
                      ) AS "t24"
                      LEFT OUTER JOIN "customer_map" AS "t6"
                        ON "t24"."customer_id" = "t6"."customer_id"
                    ) AS "t35"
                  ) AS "t43"
                  GROUP BY
                    1
                ) AS "t49"
                  ON "t74"."customer_id" = "t49"."customer_id"
              ) AS "t75"
            ) AS "t77"
            LEFT OUTER JOIN (
              SELECT
                "t15"."customer_id",
                CASE
                  WHEN (
                    COALESCE("t15"."first_seen_at", "t15"."created_at") > MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
                  )
                  AND (
                    COALESCE("t15"."first_seen_at", "t15"."created_at") <= MAKE_TIMESTAMPTZ(2026, 11, 21, 16, 0, 0.0, 'UTC')
                  )
                  THEN 'new'
                  WHEN "t48"."last_paid_at" > MAKE_TIMESTAMPTZ(2026, 8, 23, 16, 0, 0.0, 'UTC')
                  THEN 'active'
                  WHEN "t48"."last_paid_at" >= MAKE_TIMESTAMPTZ(2026, 5, 25, 16, 0, 0.0, 'UTC')
                  THEN 'silent'
                  WHEN "t48"."last_paid_at" IS NOT NULL
                  THEN 'churned'
                  WHEN COALESCE("t15"."first_seen_at", "t15"."created_at") <= MAKE_TIMESTAMPTZ(2026, 10, 22, 16, 0, 0.0, 'UTC')
                  THEN 'silent'
                  ELSE CAST(NULL AS TEXT)
                END AS "feature_4"
              FROM (
                SELECT
                  *
                FROM "customers" AS "t2"
                WHERE
                  "t2"."merged_into_id" IS NULL
              ) AS "t15"
              LEFT OUTER JOIN "t44" AS "t48"
                ON "t15"."customer_id" = "t48"."customer_id"
            ) AS "t59"
              ON "t77"."customer_id" = "t59"."customer_id"
          ) AS "t78"
        ) AS "t80"
        LEFT OUTER JOIN (
          SELECT
            "t58"."customer_id",
            TRUE AS "feature_5"
          FROM (
            SELECT DISTINCT
              "t55"."customer_id"
            FROM (
              SELECT
                "t47"."customer_id",
                "t47"."started",
                MIN("t47"."step_at") AS "reached"
              FROM (
                SELECT
                  "t36"."customer_id",
                  "t36"."started",
                  "t36"."reached",
                  "t37"."step_customer",
                  "t37"."step_at"
                FROM (
                  SELECT DISTINCT
                    COALESCE("t25"."canonical_id", "t25"."customer_id") AS "customer_id",
                    "t25"."timestamp" AS "started",
                    "t25"."timestamp" AS "reached"
                  FROM (
                    SELECT
                      "t16"."customer_id",
                      "t16"."timestamp",
                      "t16"."properties",
                      "t6"."customer_id" AS "customer_id_right",
                      "t6"."canonical_id"
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
                    ) AS "t16"
                    LEFT OUTER JOIN "customer_map" AS "t6"
                      ON "t16"."customer_id" = "t6"."customer_id"
                  ) AS "t25"
                ) AS "t36"
                INNER JOIN (
                  SELECT
                    COALESCE("t26"."canonical_id", "t26"."customer_id") AS "step_customer",
                    "t26"."timestamp" AS "step_at"
                  FROM (
                    SELECT
                      "t17"."customer_id",
                      "t17"."timestamp",
                      "t17"."properties",
                      "t6"."customer_id" AS "customer_id_right",
                      "t6"."canonical_id"
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
                    ) AS "t17"
                    LEFT OUTER JOIN "customer_map" AS "t6"
                      ON "t17"."customer_id" = "t6"."customer_id"
                  ) AS "t26"
                ) AS "t37"
                  ON "t36"."customer_id" = "t37"."step_customer"
                  AND "t37"."step_at" > "t36"."reached"
                  AND "t37"."step_at" <= (
                    "t36"."started" + INTERVAL '3' DAY
                  )
              ) AS "t47"
              GROUP BY
                1,
                2
            ) AS "t55"
          ) AS "t58"
        ) AS "t63"
          ON "t80"."customer_id" = "t63"."customer_id"
      ) AS "t81"
    ) AS "t82"
    WHERE
      COALESCE(
        CASE
          WHEN JSON_TYPE(CAST("t82"."traits" AS JSON) -> '$.city') = 'VARCHAR'
          THEN (
            CAST("t82"."traits" AS JSON) -> '$.city'
          ) ->> '$'
          ELSE NULL
        END IN ('上海', '杭州'),
        FALSE
      )
      AND (
        (
          "t82"."feature_0" IS NOT NULL
        )
        OR COALESCE("t82"."feature_1" IN ('important_value'), FALSE)
      )
      AND COALESCE("t82"."feature_2_count", 0) >= 1
      AND COALESCE("t82"."feature_2_total", 0.0) >= 500
      AND NOT (
        COALESCE("t82"."feature_3_count", 0) >= 1
      )
      AND COALESCE("t82"."feature_4" IN ('active', 'silent'), FALSE)
      AND "t82"."feature_5" IS NOT NULL
      AND COALESCE("t82"."first_touchpoint" IN ('poster'), FALSE)
  ) AS "t84"
  LEFT OUTER JOIN (
    SELECT
      "t30"."customer_id",
      MIN("t30"."user_id") AS "user_id"
    FROM (
      SELECT
        COALESCE("t23"."canonical_id", "t23"."customer_id") AS "customer_id",
        "t23"."user_id"
      FROM (
        SELECT
          "t14"."customer_id",
          "t14"."user_id",
          "t6"."customer_id" AS "customer_id_right",
          "t6"."canonical_id"
        FROM (
          SELECT
            "t0"."customer_id",
            "t0"."value" AS "user_id"
          FROM "identities" AS "t0"
          WHERE
            "t0"."type" = 'user_id'
        ) AS "t14"
        LEFT OUTER JOIN "customer_map" AS "t6"
          ON "t14"."customer_id" = "t6"."customer_id"
      ) AS "t23"
    ) AS "t30"
    GROUP BY
      1
  ) AS "t42"
    ON "t84"."customer_id" = "t42"."customer_id"
) AS "t85"
ORDER BY
  "t85"."customer_id" ASC
