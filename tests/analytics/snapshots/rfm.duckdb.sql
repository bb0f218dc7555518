-- layers
SELECT
  "t26"."layer",
  COUNT(*) AS "customers",
  AVG("t26"."recency_days") AS "recency_days",
  AVG("t26"."orders") AS "orders",
  AVG("t26"."monetary_fen") AS "monetary_fen"
FROM (
  SELECT
    "t25"."customer_id",
    "t25"."recency_days",
    "t25"."orders",
    "t25"."monetary_fen",
    "t25"."r",
    "t25"."f",
    "t25"."m",
    CASE
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_value'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_development'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_retention'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_recovery'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_value'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_development'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_retention'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_recovery'
      ELSE NULL
    END AS "layer"
  FROM (
    SELECT
      "t24"."customer_id",
      "t24"."orders",
      "t24"."monetary_fen",
      "t24"."recency_days",
      COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
      SUM("t24"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
      SUM("t24"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
      SUM("t24"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."recency_days" DESC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "r",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."orders" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "f",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."monetary_fen" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "m"
    FROM (
      SELECT
        "t23".*
        EXCLUDE ("last_paid_at")
      FROM (
        SELECT
          "t22"."customer_id",
          "t22"."last_paid_at",
          "t22"."orders",
          "t22"."monetary_fen",
          CAST(FLOOR(
            (
              1796054400 - CAST(EPOCH(CAST("t22"."last_paid_at" AS TIMESTAMP)) AS BIGINT)
            ) / (
              86400
            )
          ) AS BIGINT) AS "recency_days"
        FROM (
          SELECT
            "t21"."customer_id",
            MAX("t21"."paid_at") AS "last_paid_at",
            COUNT(*) AS "orders",
            SUM("t21"."net_fen") AS "monetary_fen"
          FROM (
            SELECT
              "t20"."order_id",
              "t20"."customer_id",
              "t20"."paid_at",
              "t20"."store",
              "t20"."touchpoint",
              "t20"."products",
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
                "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
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
          GROUP BY
            1
        ) AS "t22"
      ) AS "t23"
    ) AS "t24"
  ) AS "t25"
) AS "t26"
GROUP BY
  1

-- grid
SELECT
  "t26"."r",
  "t26"."f",
  COUNT(*) AS "customers"
FROM (
  SELECT
    "t25"."customer_id",
    "t25"."recency_days",
    "t25"."orders",
    "t25"."monetary_fen",
    "t25"."r",
    "t25"."f",
    "t25"."m",
    CASE
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_value'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_development'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_retention'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'important_recovery'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_value'
      WHEN (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_development'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_retention'
      WHEN NOT (
        (
          "t25"."recency_days" * "t25"."n"
        ) <= "t25"."recency_total"
      )
      AND NOT (
        (
          "t25"."orders" * "t25"."n"
        ) >= "t25"."orders_total"
      )
      AND NOT (
        (
          "t25"."monetary_fen" * "t25"."n"
        ) >= "t25"."monetary_total"
      )
      THEN 'general_recovery'
      ELSE NULL
    END AS "layer"
  FROM (
    SELECT
      "t24"."customer_id",
      "t24"."orders",
      "t24"."monetary_fen",
      "t24"."recency_days",
      COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
      SUM("t24"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
      SUM("t24"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
      SUM("t24"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."recency_days" DESC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "r",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."orders" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "f",
      CAST(FLOOR(
        (
          (
            RANK() OVER (
              ORDER BY "t24"."monetary_fen" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1
          ) * 5
        ) / (
          COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        )
      ) AS BIGINT) + 1 AS "m"
    FROM (
      SELECT
        "t23".*
        EXCLUDE ("last_paid_at")
      FROM (
        SELECT
          "t22"."customer_id",
          "t22"."last_paid_at",
          "t22"."orders",
          "t22"."monetary_fen",
          CAST(FLOOR(
            (
              1796054400 - CAST(EPOCH(CAST("t22"."last_paid_at" AS TIMESTAMP)) AS BIGINT)
            ) / (
              86400
            )
          ) AS BIGINT) AS "recency_days"
        FROM (
          SELECT
            "t21"."customer_id",
            MAX("t21"."paid_at") AS "last_paid_at",
            COUNT(*) AS "orders",
            SUM("t21"."net_fen") AS "monetary_fen"
          FROM (
            SELECT
              "t20"."order_id",
              "t20"."customer_id",
              "t20"."paid_at",
              "t20"."store",
              "t20"."touchpoint",
              "t20"."products",
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
                "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
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
          GROUP BY
            1
        ) AS "t22"
      ) AS "t23"
    ) AS "t24"
  ) AS "t25"
) AS "t26"
GROUP BY
  1,
  2

-- migration
SELECT
  "t37"."before",
  "t37"."after",
  COUNT(*) AS "customers"
FROM (
  SELECT
    COALESCE("t36"."before", 'none') AS "before",
    COALESCE("t35"."after", 'none') AS "after"
  FROM (
    SELECT
      "t31"."customer_id",
      CASE
        WHEN (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'important_value'
        WHEN (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND NOT (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'important_development'
        WHEN NOT (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'important_retention'
        WHEN NOT (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND NOT (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'important_recovery'
        WHEN (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND NOT (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'general_value'
        WHEN (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND NOT (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND NOT (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'general_development'
        WHEN NOT (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND NOT (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'general_retention'
        WHEN NOT (
          (
            "t31"."recency_days" * "t31"."n"
          ) <= "t31"."recency_total"
        )
        AND NOT (
          (
            "t31"."orders" * "t31"."n"
          ) >= "t31"."orders_total"
        )
        AND NOT (
          (
            "t31"."monetary_fen" * "t31"."n"
          ) >= "t31"."monetary_total"
        )
        THEN 'general_recovery'
        ELSE NULL
      END AS "after"
    FROM (
      SELECT
        "t29"."customer_id",
        "t29"."orders",
        "t29"."monetary_fen",
        "t29"."recency_days",
        COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
        SUM("t29"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
        SUM("t29"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
        SUM("t29"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t29"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "r",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t29"."orders" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "f",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t29"."monetary_fen" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "m"
      FROM (
        SELECT
          "t27".*
          EXCLUDE ("last_paid_at")
        FROM (
          SELECT
            "t25"."customer_id",
            "t25"."last_paid_at",
            "t25"."orders",
            "t25"."monetary_fen",
            CAST(FLOOR(
              (
                1796054400 - CAST(EPOCH(CAST("t25"."last_paid_at" AS TIMESTAMP)) AS BIGINT)
              ) / (
                86400
              )
            ) AS BIGINT) AS "recency_days"
          FROM (
            SELECT
              "t23"."customer_id",
              MAX("t23"."paid_at") AS "last_paid_at",
              COUNT(*) AS "orders",
              SUM("t23"."net_fen") AS "monetary_fen"
            FROM (
              SELECT
                "t21"."order_id",
                "t21"."customer_id",
                "t21"."paid_at",
                "t21"."store",
                "t21"."touchpoint",
                "t21"."products",
                "t21"."net_fen"
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
                  "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
              ) AS "t21"
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
                ON "t21"."customer_id" = "t15"."customer_id"
            ) AS "t23"
            GROUP BY
              1
          ) AS "t25"
        ) AS "t27"
      ) AS "t29"
    ) AS "t31"
  ) AS "t35"
  FULL OUTER JOIN (
    SELECT
      "t32"."customer_id" AS "before_customer",
      CASE
        WHEN (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'important_value'
        WHEN (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND NOT (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'important_development'
        WHEN NOT (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'important_retention'
        WHEN NOT (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND NOT (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'important_recovery'
        WHEN (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND NOT (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'general_value'
        WHEN (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND NOT (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND NOT (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'general_development'
        WHEN NOT (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND NOT (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'general_retention'
        WHEN NOT (
          (
            "t32"."recency_days" * "t32"."n"
          ) <= "t32"."recency_total"
        )
        AND NOT (
          (
            "t32"."orders" * "t32"."n"
          ) >= "t32"."orders_total"
        )
        AND NOT (
          (
            "t32"."monetary_fen" * "t32"."n"
          ) >= "t32"."monetary_total"
        )
        THEN 'general_recovery'
        ELSE NULL
      END AS "before"
    FROM (
      SELECT
        "t30"."customer_id",
        "t30"."orders",
        "t30"."monetary_fen",
        "t30"."recency_days",
        COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
        SUM("t30"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
        SUM("t30"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
        SUM("t30"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t30"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "r",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t30"."orders" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "f",
        CAST(FLOOR(
          (
            (
              RANK() OVER (
                ORDER BY "t30"."monetary_fen" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) - 1
            ) * 5
          ) / (
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
          )
        ) AS BIGINT) + 1 AS "m"
      FROM (
        SELECT
          "t28".*
          EXCLUDE ("last_paid_at")
        FROM (
          SELECT
            "t26"."customer_id",
            "t26"."last_paid_at",
            "t26"."orders",
            "t26"."monetary_fen",
            CAST(FLOOR(
              (
                1794758400 - CAST(EPOCH(CAST("t26"."last_paid_at" AS TIMESTAMP)) AS BIGINT)
              ) / (
                86400
              )
            ) AS BIGINT) AS "recency_days"
          FROM (
            SELECT
              "t24"."customer_id",
              MAX("t24"."paid_at") AS "last_paid_at",
              COUNT(*) AS "orders",
              SUM("t24"."net_fen") AS "monetary_fen"
            FROM (
              SELECT
                "t22"."order_id",
                "t22"."customer_id",
                "t22"."paid_at",
                "t22"."store",
                "t22"."touchpoint",
                "t22"."products",
                "t22"."net_fen"
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
                  "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 15, 16, 0, 0.0, 'UTC')
              ) AS "t22"
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
                ON "t22"."customer_id" = "t15"."customer_id"
            ) AS "t24"
            GROUP BY
              1
          ) AS "t26"
        ) AS "t28"
      ) AS "t30"
    ) AS "t32"
  ) AS "t36"
    ON "t35"."customer_id" = "t36"."before_customer"
) AS "t37"
GROUP BY
  1,
  2
