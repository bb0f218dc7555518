-- cells
WITH "t15" AS (
  SELECT
    "t14"."customer_id",
    CAST(FLOOR(
      (
        1796054400 - CAST(FLOOR((
          EPOCH_US(MAX("t14"."paid_at"))
        ) / (
          1000000
        )) AS BIGINT)
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days",
    COUNT(*) AS "orders",
    SUM("t14"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      "t13"."order_id",
      "t13"."customer_id",
      "t13"."paid_at",
      "t13"."store",
      "t13"."touchpoint",
      "t13"."products",
      "t13"."net_fen"
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
                "t3"."customer_id" AS "customer_id_right",
                "t3"."canonical_id"
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
              LEFT OUTER JOIN "customer_map" AS "t3"
                ON "t7"."customer_id" = "t3"."customer_id"
            ) AS "t8"
          ) AS "t9"
        ) AS "t10"
      ) AS "t11"
      WHERE
        "t11"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS "t13"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t5"
      ON "t13"."customer_id" = "t5"."customer_id"
  ) AS "t14"
  GROUP BY
    1
)
SELECT
  "t29"."layer",
  "t29"."r",
  "t29"."f",
  COUNT(*) AS "customers",
  SUM("t29"."recency_days") AS "recency_days",
  SUM("t29"."orders") AS "orders",
  SUM("t29"."monetary_fen") AS "monetary_fen"
FROM (
  SELECT
    "t28"."customer_id",
    "t28"."recency_days",
    "t28"."orders",
    "t28"."monetary_fen",
    "t28"."r",
    CAST(FLOOR((
      "t28"."f" * 5
    ) / (
      "t28"."n"
    )) AS BIGINT) + 1 AS "f",
    "t28"."m",
    CASE
      WHEN (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'important_value'
      WHEN (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND NOT (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'important_development'
      WHEN NOT (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'important_retention'
      WHEN NOT (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND NOT (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'important_recovery'
      WHEN (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND NOT (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'general_value'
      WHEN (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND NOT (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND NOT (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'general_development'
      WHEN NOT (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND NOT (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'general_retention'
      WHEN NOT (
        (
          "t28"."recency_days" * "t28"."n"
        ) <= "t28"."recency_total"
      )
      AND NOT (
        (
          "t28"."orders" * "t28"."n"
        ) >= "t28"."orders_total"
      )
      AND NOT (
        (
          "t28"."monetary_fen" * "t28"."n"
        ) >= "t28"."monetary_total"
      )
      THEN 'general_recovery'
      ELSE NULL
    END AS "layer"
  FROM (
    SELECT
      "t27"."customer_id",
      "t27"."recency_days",
      "t27"."orders",
      "t27"."monetary_fen",
      "t27"."n",
      "t27"."recency_total",
      "t27"."orders_total",
      "t27"."monetary_total",
      "t27"."m",
      "t27"."r",
      "t21"."f"
    FROM (
      SELECT
        "t25"."customer_id",
        "t25"."recency_days",
        "t25"."orders",
        "t25"."monetary_fen",
        "t25"."n",
        "t25"."recency_total",
        "t25"."orders_total",
        "t25"."monetary_total",
        "t25"."m",
        CAST(FLOOR((
          "t25"."r" * 5
        ) / (
          "t25"."n"
        )) AS BIGINT) + 1 AS "r"
      FROM (
        SELECT
          "t24"."customer_id",
          "t24"."recency_days",
          "t24"."orders",
          "t24"."monetary_fen",
          "t24"."n",
          "t24"."recency_total",
          "t24"."orders_total",
          "t24"."monetary_total",
          "t24"."m",
          "t22"."r"
        FROM (
          SELECT
            "t16"."customer_id",
            "t16"."recency_days",
            "t16"."orders",
            "t16"."monetary_fen",
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
            SUM("t16"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
            SUM("t16"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
            SUM("t16"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
            CAST(FLOOR(
              (
                (
                  RANK() OVER (
                    ORDER BY "t16"."monetary_fen" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                  ) - 1
                ) * 5
              ) / (
                COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              )
            ) AS BIGINT) + 1 AS "m"
          FROM "t15" AS "t16"
        ) AS "t24"
        INNER JOIN (
          SELECT
            "t18"."recency_days",
            SUM("t18"."count") OVER (
              ORDER BY "t18"."recency_days" DESC
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) - "t18"."count" AS "r"
          FROM (
            SELECT
              "t16"."recency_days",
              COUNT(*) AS "count"
            FROM "t15" AS "t16"
            GROUP BY
              1
          ) AS "t18"
        ) AS "t22"
          ON "t24"."recency_days" = "t22"."recency_days"
      ) AS "t25"
    ) AS "t27"
    INNER JOIN (
      SELECT
        "t17"."orders",
        SUM("t17"."count") OVER (ORDER BY "t17"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t17"."count" AS "f"
      FROM (
        SELECT
          "t16"."orders",
          COUNT(*) AS "count"
        FROM "t15" AS "t16"
        GROUP BY
          1
      ) AS "t17"
    ) AS "t21"
      ON "t27"."orders" = "t21"."orders"
  ) AS "t28"
) AS "t29"
GROUP BY
  1,
  2,
  3

-- migration
WITH "t18" AS (
  SELECT
    "t16"."customer_id",
    CAST(FLOOR(
      (
        1796054400 - CAST(FLOOR((
          EPOCH_US(MAX("t16"."paid_at"))
        ) / (
          1000000
        )) AS BIGINT)
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days",
    COUNT(*) AS "orders",
    SUM("t16"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      "t14"."order_id",
      "t14"."customer_id",
      "t14"."paid_at",
      "t14"."store",
      "t14"."touchpoint",
      "t14"."products",
      "t14"."net_fen"
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
                "t3"."customer_id" AS "customer_id_right",
                "t3"."canonical_id"
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
              LEFT OUTER JOIN "customer_map" AS "t3"
                ON "t7"."customer_id" = "t3"."customer_id"
            ) AS "t8"
          ) AS "t9"
        ) AS "t10"
      ) AS "t11"
      WHERE
        "t11"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS "t14"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t5"
      ON "t14"."customer_id" = "t5"."customer_id"
  ) AS "t16"
  GROUP BY
    1
), "t19" AS (
  SELECT
    "t17"."customer_id",
    CAST(FLOOR(
      (
        1794758400 - CAST(FLOOR((
          EPOCH_US(MAX("t17"."paid_at"))
        ) / (
          1000000
        )) AS BIGINT)
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days",
    COUNT(*) AS "orders",
    SUM("t17"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      "t15"."order_id",
      "t15"."customer_id",
      "t15"."paid_at",
      "t15"."store",
      "t15"."touchpoint",
      "t15"."products",
      "t15"."net_fen"
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
                "t3"."customer_id" AS "customer_id_right",
                "t3"."canonical_id"
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
              LEFT OUTER JOIN "customer_map" AS "t3"
                ON "t7"."customer_id" = "t3"."customer_id"
            ) AS "t8"
          ) AS "t9"
        ) AS "t10"
      ) AS "t11"
      WHERE
        "t11"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 15, 16, 0, 0.0, 'UTC')
    ) AS "t15"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t5"
      ON "t15"."customer_id" = "t5"."customer_id"
  ) AS "t17"
  GROUP BY
    1
)
SELECT
  "t50"."before",
  "t50"."after",
  COUNT(*) AS "customers"
FROM (
  SELECT
    COALESCE("t49"."before", 'none') AS "before",
    COALESCE("t48"."after", 'none') AS "after"
  FROM (
    SELECT
      "t44"."customer_id",
      CASE
        WHEN (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'important_value'
        WHEN (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND NOT (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'important_development'
        WHEN NOT (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'important_retention'
        WHEN NOT (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND NOT (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'important_recovery'
        WHEN (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND NOT (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'general_value'
        WHEN (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND NOT (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND NOT (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'general_development'
        WHEN NOT (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND NOT (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'general_retention'
        WHEN NOT (
          (
            "t44"."recency_days" * "t44"."n"
          ) <= "t44"."recency_total"
        )
        AND NOT (
          (
            "t44"."orders" * "t44"."n"
          ) >= "t44"."orders_total"
        )
        AND NOT (
          (
            "t44"."monetary_fen" * "t44"."n"
          ) >= "t44"."monetary_total"
        )
        THEN 'general_recovery'
        ELSE NULL
      END AS "after"
    FROM (
      SELECT
        "t42"."customer_id",
        "t42"."recency_days",
        "t42"."orders",
        "t42"."monetary_fen",
        "t42"."n",
        "t42"."recency_total",
        "t42"."orders_total",
        "t42"."monetary_total",
        "t42"."m",
        "t42"."r",
        "t30"."f"
      FROM (
        SELECT
          "t38"."customer_id",
          "t38"."recency_days",
          "t38"."orders",
          "t38"."monetary_fen",
          "t38"."n",
          "t38"."recency_total",
          "t38"."orders_total",
          "t38"."monetary_total",
          "t38"."m",
          CAST(FLOOR((
            "t38"."r" * 5
          ) / (
            "t38"."n"
          )) AS BIGINT) + 1 AS "r"
        FROM (
          SELECT
            "t36"."customer_id",
            "t36"."recency_days",
            "t36"."orders",
            "t36"."monetary_fen",
            "t36"."n",
            "t36"."recency_total",
            "t36"."orders_total",
            "t36"."monetary_total",
            "t36"."m",
            "t31"."r"
          FROM (
            SELECT
              "t20"."customer_id",
              "t20"."recency_days",
              "t20"."orders",
              "t20"."monetary_fen",
              COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
              SUM("t20"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
              SUM("t20"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
              SUM("t20"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
              CAST(FLOOR(
                (
                  (
                    RANK() OVER (
                      ORDER BY "t20"."monetary_fen" ASC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                    ) - 1
                  ) * 5
                ) / (
                  COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
              ) AS BIGINT) + 1 AS "m"
            FROM "t18" AS "t20"
          ) AS "t36"
          INNER JOIN (
            SELECT
              "t23"."recency_days",
              SUM("t23"."count") OVER (
                ORDER BY "t23"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) - "t23"."count" AS "r"
            FROM (
              SELECT
                "t20"."recency_days",
                COUNT(*) AS "count"
              FROM "t18" AS "t20"
              GROUP BY
                1
            ) AS "t23"
          ) AS "t31"
            ON "t36"."recency_days" = "t31"."recency_days"
        ) AS "t38"
      ) AS "t42"
      INNER JOIN (
        SELECT
          "t22"."orders",
          SUM("t22"."count") OVER (ORDER BY "t22"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t22"."count" AS "f"
        FROM (
          SELECT
            "t20"."orders",
            COUNT(*) AS "count"
          FROM "t18" AS "t20"
          GROUP BY
            1
        ) AS "t22"
      ) AS "t30"
        ON "t42"."orders" = "t30"."orders"
    ) AS "t44"
  ) AS "t48"
  FULL OUTER JOIN (
    SELECT
      "t45"."customer_id" AS "before_customer",
      CASE
        WHEN (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'important_value'
        WHEN (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND NOT (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'important_development'
        WHEN NOT (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'important_retention'
        WHEN NOT (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND NOT (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'important_recovery'
        WHEN (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND NOT (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'general_value'
        WHEN (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND NOT (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND NOT (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'general_development'
        WHEN NOT (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND NOT (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'general_retention'
        WHEN NOT (
          (
            "t45"."recency_days" * "t45"."n"
          ) <= "t45"."recency_total"
        )
        AND NOT (
          (
            "t45"."orders" * "t45"."n"
          ) >= "t45"."orders_total"
        )
        AND NOT (
          (
            "t45"."monetary_fen" * "t45"."n"
          ) >= "t45"."monetary_total"
        )
        THEN 'general_recovery'
        ELSE NULL
      END AS "before"
    FROM (
      SELECT
        "t43"."customer_id",
        "t43"."recency_days",
        "t43"."orders",
        "t43"."monetary_fen",
        "t43"."n",
        "t43"."recency_total",
        "t43"."orders_total",
        "t43"."monetary_total",
        "t43"."m",
        "t43"."r",
        "t33"."f"
      FROM (
        SELECT
          "t39"."customer_id",
          "t39"."recency_days",
          "t39"."orders",
          "t39"."monetary_fen",
          "t39"."n",
          "t39"."recency_total",
          "t39"."orders_total",
          "t39"."monetary_total",
          "t39"."m",
          CAST(FLOOR((
            "t39"."r" * 5
          ) / (
            "t39"."n"
          )) AS BIGINT) + 1 AS "r"
        FROM (
          SELECT
            "t37"."customer_id",
            "t37"."recency_days",
            "t37"."orders",
            "t37"."monetary_fen",
            "t37"."n",
            "t37"."recency_total",
            "t37"."orders_total",
            "t37"."monetary_total",
            "t37"."m",
            "t34"."r"
          FROM (
            SELECT
              "t21"."customer_id",
              "t21"."recency_days",
              "t21"."orders",
              "t21"."monetary_fen",
              COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
              SUM("t21"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
              SUM("t21"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
              SUM("t21"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
              CAST(FLOOR(
                (
                  (
                    RANK() OVER (
                      ORDER BY "t21"."monetary_fen" ASC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                    ) - 1
                  ) * 5
                ) / (
                  COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
              ) AS BIGINT) + 1 AS "m"
            FROM "t19" AS "t21"
          ) AS "t37"
          INNER JOIN (
            SELECT
              "t25"."recency_days",
              SUM("t25"."count") OVER (
                ORDER BY "t25"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) - "t25"."count" AS "r"
            FROM (
              SELECT
                "t21"."recency_days",
                COUNT(*) AS "count"
              FROM "t19" AS "t21"
              GROUP BY
                1
            ) AS "t25"
          ) AS "t34"
            ON "t37"."recency_days" = "t34"."recency_days"
        ) AS "t39"
      ) AS "t43"
      INNER JOIN (
        SELECT
          "t24"."orders",
          SUM("t24"."count") OVER (ORDER BY "t24"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t24"."count" AS "f"
        FROM (
          SELECT
            "t21"."orders",
            COUNT(*) AS "count"
          FROM "t19" AS "t21"
          GROUP BY
            1
        ) AS "t24"
      ) AS "t33"
        ON "t43"."orders" = "t33"."orders"
    ) AS "t45"
  ) AS "t49"
    ON "t48"."customer_id" = "t49"."before_customer"
) AS "t50"
GROUP BY
  1,
  2
