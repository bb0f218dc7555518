-- cells
WITH "t16" AS (
  SELECT
    "t15"."customer_id",
    CAST(FLOOR(
      (
        1796054400 - CAST(FLOOR((
          EPOCH_US(MAX("t15"."paid_at"))
        ) / (
          1000000
        )) AS BIGINT)
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days",
    COUNT(*) AS "orders",
    SUM("t15"."net_fen") AS "monetary_fen"
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
          "t11".*
          EXCLUDE ("canonical_id")
        FROM (
          SELECT
            "t10".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              "t9"."order_id",
              COALESCE("t9"."canonical_id", "t9"."customer_id") AS "customer_id",
              "t9"."paid_at",
              "t9"."store",
              "t9"."touchpoint",
              "t9"."products",
              "t9"."net_fen",
              "t9"."customer_id_right",
              "t9"."canonical_id"
            FROM (
              SELECT
                "t8"."order_id",
                "t8"."customer_id",
                "t8"."paid_at",
                "t8"."store",
                "t8"."touchpoint",
                "t8"."products",
                "t8"."net_fen",
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
              ) AS "t8"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "customer_map" AS "t2"
              ) AS "t5"
                ON "t8"."customer_id" = "t5"."customer_id"
            ) AS "t9"
          ) AS "t10"
        ) AS "t11"
      ) AS "t12"
      WHERE
        "t12"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS "t14"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t6"
      ON "t14"."customer_id" = "t6"."customer_id"
  ) AS "t15"
  GROUP BY
    1
)
SELECT
  "t30"."layer",
  "t30"."r",
  "t30"."f",
  COUNT(*) AS "customers",
  SUM("t30"."recency_days") AS "recency_days",
  SUM("t30"."orders") AS "orders",
  SUM("t30"."monetary_fen") AS "monetary_fen"
FROM (
  SELECT
    "t29"."customer_id",
    "t29"."recency_days",
    "t29"."orders",
    "t29"."monetary_fen",
    "t29"."r",
    CAST(FLOOR((
      "t29"."f" * 5
    ) / (
      "t29"."n"
    )) AS BIGINT) + 1 AS "f",
    "t29"."m",
    CASE
      WHEN (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'important_value'
      WHEN (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND NOT (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'important_development'
      WHEN NOT (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'important_retention'
      WHEN NOT (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND NOT (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'important_recovery'
      WHEN (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND NOT (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'general_value'
      WHEN (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND NOT (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND NOT (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'general_development'
      WHEN NOT (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND NOT (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'general_retention'
      WHEN NOT (
        (
          "t29"."recency_days" * "t29"."n"
        ) <= "t29"."recency_total"
      )
      AND NOT (
        (
          "t29"."orders" * "t29"."n"
        ) >= "t29"."orders_total"
      )
      AND NOT (
        (
          "t29"."monetary_fen" * "t29"."n"
        ) >= "t29"."monetary_total"
      )
      THEN 'general_recovery'
      ELSE NULL
    END AS "layer"
  FROM (
    SELECT
      "t28"."customer_id",
      "t28"."recency_days",
      "t28"."orders",
      "t28"."monetary_fen",
      "t28"."n",
      "t28"."recency_total",
      "t28"."orders_total",
      "t28"."monetary_total",
      "t28"."m",
      "t28"."r",
      "t22"."f"
    FROM (
      SELECT
        "t26"."customer_id",
        "t26"."recency_days",
        "t26"."orders",
        "t26"."monetary_fen",
        "t26"."n",
        "t26"."recency_total",
        "t26"."orders_total",
        "t26"."monetary_total",
        "t26"."m",
        CAST(FLOOR((
          "t26"."r" * 5
        ) / (
          "t26"."n"
        )) AS BIGINT) + 1 AS "r"
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
          "t23"."r"
        FROM (
          SELECT
            "t17"."customer_id",
            "t17"."recency_days",
            "t17"."orders",
            "t17"."monetary_fen",
            COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
            SUM("t17"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
            SUM("t17"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
            SUM("t17"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
            CAST(FLOOR(
              (
                (
                  RANK() OVER (
                    ORDER BY "t17"."monetary_fen" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                  ) - 1
                ) * 5
              ) / (
                COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              )
            ) AS BIGINT) + 1 AS "m"
          FROM "t16" AS "t17"
        ) AS "t25"
        INNER JOIN (
          SELECT
            "t19"."recency_days",
            SUM("t19"."count") OVER (
              ORDER BY "t19"."recency_days" DESC
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) - "t19"."count" AS "r"
          FROM (
            SELECT
              "t17"."recency_days",
              COUNT(*) AS "count"
            FROM "t16" AS "t17"
            GROUP BY
              1
          ) AS "t19"
        ) AS "t23"
          ON "t25"."recency_days" = "t23"."recency_days"
      ) AS "t26"
    ) AS "t28"
    INNER JOIN (
      SELECT
        "t18"."orders",
        SUM("t18"."count") OVER (ORDER BY "t18"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t18"."count" AS "f"
      FROM (
        SELECT
          "t17"."orders",
          COUNT(*) AS "count"
        FROM "t16" AS "t17"
        GROUP BY
          1
      ) AS "t18"
    ) AS "t22"
      ON "t28"."orders" = "t22"."orders"
  ) AS "t29"
) AS "t30"
GROUP BY
  1,
  2,
  3

-- migration
WITH "t19" AS (
  SELECT
    "t17"."customer_id",
    CAST(FLOOR(
      (
        1796054400 - CAST(FLOOR((
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
          "t11".*
          EXCLUDE ("canonical_id")
        FROM (
          SELECT
            "t10".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              "t9"."order_id",
              COALESCE("t9"."canonical_id", "t9"."customer_id") AS "customer_id",
              "t9"."paid_at",
              "t9"."store",
              "t9"."touchpoint",
              "t9"."products",
              "t9"."net_fen",
              "t9"."customer_id_right",
              "t9"."canonical_id"
            FROM (
              SELECT
                "t8"."order_id",
                "t8"."customer_id",
                "t8"."paid_at",
                "t8"."store",
                "t8"."touchpoint",
                "t8"."products",
                "t8"."net_fen",
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
              ) AS "t8"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "customer_map" AS "t2"
              ) AS "t5"
                ON "t8"."customer_id" = "t5"."customer_id"
            ) AS "t9"
          ) AS "t10"
        ) AS "t11"
      ) AS "t12"
      WHERE
        "t12"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS "t15"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t6"
      ON "t15"."customer_id" = "t6"."customer_id"
  ) AS "t17"
  GROUP BY
    1
), "t20" AS (
  SELECT
    "t18"."customer_id",
    CAST(FLOOR(
      (
        1794758400 - CAST(FLOOR((
          EPOCH_US(MAX("t18"."paid_at"))
        ) / (
          1000000
        )) AS BIGINT)
      ) / (
        86400
      )
    ) AS BIGINT) AS "recency_days",
    COUNT(*) AS "orders",
    SUM("t18"."net_fen") AS "monetary_fen"
  FROM (
    SELECT
      "t16"."order_id",
      "t16"."customer_id",
      "t16"."paid_at",
      "t16"."store",
      "t16"."touchpoint",
      "t16"."products",
      "t16"."net_fen"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t11".*
          EXCLUDE ("canonical_id")
        FROM (
          SELECT
            "t10".*
            EXCLUDE ("customer_id_right")
          FROM (
            SELECT
              "t9"."order_id",
              COALESCE("t9"."canonical_id", "t9"."customer_id") AS "customer_id",
              "t9"."paid_at",
              "t9"."store",
              "t9"."touchpoint",
              "t9"."products",
              "t9"."net_fen",
              "t9"."customer_id_right",
              "t9"."canonical_id"
            FROM (
              SELECT
                "t8"."order_id",
                "t8"."customer_id",
                "t8"."paid_at",
                "t8"."store",
                "t8"."touchpoint",
                "t8"."products",
                "t8"."net_fen",
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
              ) AS "t8"
              LEFT OUTER JOIN (
                SELECT
                  *
                FROM "customer_map" AS "t2"
              ) AS "t5"
                ON "t8"."customer_id" = "t5"."customer_id"
            ) AS "t9"
          ) AS "t10"
        ) AS "t11"
      ) AS "t12"
      WHERE
        "t12"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 15, 16, 0, 0.0, 'UTC')
    ) AS "t16"
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t6"
      ON "t16"."customer_id" = "t6"."customer_id"
  ) AS "t18"
  GROUP BY
    1
)
SELECT
  "t51"."before",
  "t51"."after",
  COUNT(*) AS "customers"
FROM (
  SELECT
    COALESCE("t50"."before", 'none') AS "before",
    COALESCE("t49"."after", 'none') AS "after"
  FROM (
    SELECT
      "t45"."customer_id",
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
      END AS "after"
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
        "t31"."f"
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
            "t32"."r"
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
              "t24"."recency_days",
              SUM("t24"."count") OVER (
                ORDER BY "t24"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) - "t24"."count" AS "r"
            FROM (
              SELECT
                "t21"."recency_days",
                COUNT(*) AS "count"
              FROM "t19" AS "t21"
              GROUP BY
                1
            ) AS "t24"
          ) AS "t32"
            ON "t37"."recency_days" = "t32"."recency_days"
        ) AS "t39"
      ) AS "t43"
      INNER JOIN (
        SELECT
          "t23"."orders",
          SUM("t23"."count") OVER (ORDER BY "t23"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t23"."count" AS "f"
        FROM (
          SELECT
            "t21"."orders",
            COUNT(*) AS "count"
          FROM "t19" AS "t21"
          GROUP BY
            1
        ) AS "t23"
      ) AS "t31"
        ON "t43"."orders" = "t31"."orders"
    ) AS "t45"
  ) AS "t49"
  FULL OUTER JOIN (
    SELECT
      "t46"."customer_id" AS "before_customer",
      CASE
        WHEN (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'important_value'
        WHEN (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND NOT (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'important_development'
        WHEN NOT (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'important_retention'
        WHEN NOT (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND NOT (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'important_recovery'
        WHEN (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND NOT (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'general_value'
        WHEN (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND NOT (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND NOT (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'general_development'
        WHEN NOT (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND NOT (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'general_retention'
        WHEN NOT (
          (
            "t46"."recency_days" * "t46"."n"
          ) <= "t46"."recency_total"
        )
        AND NOT (
          (
            "t46"."orders" * "t46"."n"
          ) >= "t46"."orders_total"
        )
        AND NOT (
          (
            "t46"."monetary_fen" * "t46"."n"
          ) >= "t46"."monetary_total"
        )
        THEN 'general_recovery'
        ELSE NULL
      END AS "before"
    FROM (
      SELECT
        "t44"."customer_id",
        "t44"."recency_days",
        "t44"."orders",
        "t44"."monetary_fen",
        "t44"."n",
        "t44"."recency_total",
        "t44"."orders_total",
        "t44"."monetary_total",
        "t44"."m",
        "t44"."r",
        "t34"."f"
      FROM (
        SELECT
          "t40"."customer_id",
          "t40"."recency_days",
          "t40"."orders",
          "t40"."monetary_fen",
          "t40"."n",
          "t40"."recency_total",
          "t40"."orders_total",
          "t40"."monetary_total",
          "t40"."m",
          CAST(FLOOR((
            "t40"."r" * 5
          ) / (
            "t40"."n"
          )) AS BIGINT) + 1 AS "r"
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
            "t35"."r"
          FROM (
            SELECT
              "t22"."customer_id",
              "t22"."recency_days",
              "t22"."orders",
              "t22"."monetary_fen",
              COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "n",
              SUM("t22"."recency_days") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "recency_total",
              SUM("t22"."orders") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "orders_total",
              SUM("t22"."monetary_fen") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "monetary_total",
              CAST(FLOOR(
                (
                  (
                    RANK() OVER (
                      ORDER BY "t22"."monetary_fen" ASC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                    ) - 1
                  ) * 5
                ) / (
                  COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
              ) AS BIGINT) + 1 AS "m"
            FROM "t20" AS "t22"
          ) AS "t38"
          INNER JOIN (
            SELECT
              "t26"."recency_days",
              SUM("t26"."count") OVER (
                ORDER BY "t26"."recency_days" DESC
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) - "t26"."count" AS "r"
            FROM (
              SELECT
                "t22"."recency_days",
                COUNT(*) AS "count"
              FROM "t20" AS "t22"
              GROUP BY
                1
            ) AS "t26"
          ) AS "t35"
            ON "t38"."recency_days" = "t35"."recency_days"
        ) AS "t40"
      ) AS "t44"
      INNER JOIN (
        SELECT
          "t25"."orders",
          SUM("t25"."count") OVER (ORDER BY "t25"."orders" ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - "t25"."count" AS "f"
        FROM (
          SELECT
            "t22"."orders",
            COUNT(*) AS "count"
          FROM "t20" AS "t22"
          GROUP BY
            1
        ) AS "t25"
      ) AS "t34"
        ON "t44"."orders" = "t34"."orders"
    ) AS "t46"
  ) AS "t50"
    ON "t49"."customer_id" = "t50"."before_customer"
) AS "t51"
GROUP BY
  1,
  2
