-- summary
SELECT
  *
FROM (
  SELECT
    "t17"."customer_id",
    MIN("t17"."day") AS "first_day",
    MAX("t17"."day") FILTER(WHERE
      "t17"."day" <= 20777) AS "last_day",
    COUNT(*) FILTER(WHERE
      "t17"."day" <= 20777) AS "purchases",
    SUM("t17"."value_fen") FILTER(WHERE
      "t17"."day" <= 20777) AS "total_fen",
    FIRST("t17"."value_fen" ORDER BY "t17"."day") AS "first_fen",
    COUNT(*) FILTER(WHERE
      NOT (
        "t17"."day" <= 20777
      )) AS "holdout"
  FROM (
    SELECT
      "t16"."customer_id",
      "t16"."day",
      SUM("t16"."net_fen") AS "value_fen"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t14"."order_id",
          "t14"."customer_id",
          "t14"."paid_at",
          "t14"."store",
          "t14"."touchpoint",
          "t14"."products",
          "t14"."net_fen",
          CAST(FLOOR(
            (
              CAST(FLOOR((
                EPOCH_US("t14"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800
            ) / (
              86400
            )
          ) AS BIGINT) AS "day"
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
          ) AS "t13"
          INNER JOIN (
            SELECT
              "t0"."customer_id"
            FROM "customers" AS "t0"
            WHERE
              "t0"."merged_into_id" IS NULL
          ) AS "t6"
            ON "t13"."customer_id" = "t6"."customer_id"
        ) AS "t14"
      ) AS "t15"
      WHERE
        "t15"."day" <= 20787
    ) AS "t16"
    GROUP BY
      1,
      2
  ) AS "t17"
  GROUP BY
    1
) AS "t18"
WHERE
  "t18"."purchases" > 0

-- cohorts
SELECT
  "t19"."cohort",
  "t19"."month" - "t19"."cohort" AS "offset",
  SUM("t19"."value_fen") AS "value_fen",
  COUNT(*) AS "customers"
FROM (
  SELECT
    "t18"."customer_id",
    "t18"."month",
    "t18"."value_fen",
    MIN("t18"."month") OVER (
      PARTITION BY "t18"."customer_id"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "cohort"
  FROM (
    SELECT
      "t17"."customer_id",
      "t17"."month",
      SUM("t17"."net_fen") AS "value_fen"
    FROM (
      SELECT
        "t16"."order_id",
        "t16"."customer_id",
        "t16"."paid_at",
        "t16"."store",
        "t16"."touchpoint",
        "t16"."products",
        "t16"."net_fen",
        "t16"."day",
        (
          (
            (
              EXTRACT(year FROM TO_TIMESTAMP(CAST(FLOOR((
                EPOCH_US("t16"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800)) - 1970
            ) * 12
          ) + EXTRACT(month FROM TO_TIMESTAMP(CAST(FLOOR((
            EPOCH_US("t16"."paid_at")
          ) / (
            1000000
          )) AS BIGINT) + 28800))
        ) - 1 AS "month"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t14"."order_id",
            "t14"."customer_id",
            "t14"."paid_at",
            "t14"."store",
            "t14"."touchpoint",
            "t14"."products",
            "t14"."net_fen",
            CAST(FLOOR(
              (
                CAST(FLOOR((
                  EPOCH_US("t14"."paid_at")
                ) / (
                  1000000
                )) AS BIGINT) + 28800
              ) / (
                86400
              )
            ) AS BIGINT) AS "day"
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
            ) AS "t13"
            INNER JOIN (
              SELECT
                "t0"."customer_id"
              FROM "customers" AS "t0"
              WHERE
                "t0"."merged_into_id" IS NULL
            ) AS "t6"
              ON "t13"."customer_id" = "t6"."customer_id"
          ) AS "t14"
        ) AS "t15"
        WHERE
          "t15"."day" <= 20777
      ) AS "t16"
    ) AS "t17"
    GROUP BY
      1,
      2
  ) AS "t18"
) AS "t19"
GROUP BY
  1,
  2
