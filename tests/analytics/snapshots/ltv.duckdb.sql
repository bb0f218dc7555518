-- summary
SELECT
  *
FROM (
  SELECT
    "t16"."customer_id",
    MIN("t16"."day") AS "first_day",
    MAX("t16"."day") FILTER(WHERE
      "t16"."day" <= 20777) AS "last_day",
    COUNT(*) FILTER(WHERE
      "t16"."day" <= 20777) AS "purchases",
    SUM("t16"."value_fen") FILTER(WHERE
      "t16"."day" <= 20777) AS "total_fen",
    FIRST("t16"."value_fen" ORDER BY "t16"."day") AS "first_fen",
    COUNT(*) FILTER(WHERE
      NOT (
        "t16"."day" <= 20777
      )) AS "holdout"
  FROM (
    SELECT
      "t15"."customer_id",
      "t15"."day",
      SUM("t15"."net_fen") AS "value_fen"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t13"."order_id",
          "t13"."customer_id",
          "t13"."paid_at",
          "t13"."store",
          "t13"."touchpoint",
          "t13"."products",
          "t13"."net_fen",
          CAST(FLOOR(
            (
              CAST(FLOOR((
                EPOCH_US("t13"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800
            ) / (
              86400
            )
          ) AS BIGINT) AS "day"
        FROM (
          SELECT
            "t12"."order_id",
            "t12"."customer_id",
            "t12"."paid_at",
            "t12"."store",
            "t12"."touchpoint",
            "t12"."products",
            "t12"."net_fen"
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
          ) AS "t12"
          INNER JOIN (
            SELECT
              "t0"."customer_id"
            FROM "customers" AS "t0"
            WHERE
              "t0"."merged_into_id" IS NULL
          ) AS "t5"
            ON "t12"."customer_id" = "t5"."customer_id"
        ) AS "t13"
      ) AS "t14"
      WHERE
        "t14"."day" <= 20787
    ) AS "t15"
    GROUP BY
      1,
      2
  ) AS "t16"
  GROUP BY
    1
) AS "t17"
WHERE
  "t17"."purchases" > 0

-- cohorts
SELECT
  "t18"."cohort",
  "t18"."month" - "t18"."cohort" AS "offset",
  SUM("t18"."value_fen") AS "value_fen",
  COUNT(*) AS "customers"
FROM (
  SELECT
    "t17"."customer_id",
    "t17"."month",
    "t17"."value_fen",
    MIN("t17"."month") OVER (
      PARTITION BY "t17"."customer_id"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "cohort"
  FROM (
    SELECT
      "t16"."customer_id",
      "t16"."month",
      SUM("t16"."net_fen") AS "value_fen"
    FROM (
      SELECT
        "t15"."order_id",
        "t15"."customer_id",
        "t15"."paid_at",
        "t15"."store",
        "t15"."touchpoint",
        "t15"."products",
        "t15"."net_fen",
        "t15"."day",
        (
          (
            (
              EXTRACT(year FROM TO_TIMESTAMP(CAST(FLOOR((
                EPOCH_US("t15"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800)) - 1970
            ) * 12
          ) + EXTRACT(month FROM TO_TIMESTAMP(CAST(FLOOR((
            EPOCH_US("t15"."paid_at")
          ) / (
            1000000
          )) AS BIGINT) + 28800))
        ) - 1 AS "month"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t13"."order_id",
            "t13"."customer_id",
            "t13"."paid_at",
            "t13"."store",
            "t13"."touchpoint",
            "t13"."products",
            "t13"."net_fen",
            CAST(FLOOR(
              (
                CAST(FLOOR((
                  EPOCH_US("t13"."paid_at")
                ) / (
                  1000000
                )) AS BIGINT) + 28800
              ) / (
                86400
              )
            ) AS BIGINT) AS "day"
          FROM (
            SELECT
              "t12"."order_id",
              "t12"."customer_id",
              "t12"."paid_at",
              "t12"."store",
              "t12"."touchpoint",
              "t12"."products",
              "t12"."net_fen"
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
            ) AS "t12"
            INNER JOIN (
              SELECT
                "t0"."customer_id"
              FROM "customers" AS "t0"
              WHERE
                "t0"."merged_into_id" IS NULL
            ) AS "t5"
              ON "t12"."customer_id" = "t5"."customer_id"
          ) AS "t13"
        ) AS "t14"
        WHERE
          "t14"."day" <= 20777
      ) AS "t15"
    ) AS "t16"
    GROUP BY
      1,
      2
  ) AS "t17"
) AS "t18"
GROUP BY
  1,
  2
