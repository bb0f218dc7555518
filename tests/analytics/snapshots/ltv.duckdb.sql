-- summary
SELECT
  *
FROM (
  SELECT
    "t23"."customer_id",
    MIN("t23"."day") AS "first_day",
    MAX("t23"."day") FILTER(WHERE
      "t23"."day" <= 20777) AS "last_day",
    COUNT(*) FILTER(WHERE
      "t23"."day" <= 20777) AS "purchases",
    SUM("t23"."value_fen") FILTER(WHERE
      "t23"."day" <= 20777) AS "total_fen",
    FIRST("t23"."value_fen" ORDER BY "t23"."day") AS "first_fen",
    COUNT(*) FILTER(WHERE
      NOT (
        "t23"."day" <= 20777
      )) AS "holdout"
  FROM (
    SELECT
      "t22"."customer_id",
      "t22"."day",
      SUM("t22"."net_fen") AS "value_fen"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t20"."order_id",
          "t20"."customer_id",
          "t20"."paid_at",
          "t20"."store",
          "t20"."touchpoint",
          "t20"."products",
          "t20"."net_fen",
          CAST(FLOOR(
            (
              CAST(FLOOR((
                EPOCH_US("t20"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800
            ) / (
              86400
            )
          ) AS BIGINT) AS "day"
        FROM (
          SELECT
            "t19"."order_id",
            "t19"."customer_id",
            "t19"."paid_at",
            "t19"."store",
            "t19"."touchpoint",
            "t19"."products",
            "t19"."net_fen"
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
          ) AS "t19"
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
                FROM "touchpoints" AS "t2"
              ) AS "t7"
                ON "t9"."first_touchpoint" = "t7"."code"
            ) AS "t12"
          ) AS "t15"
            ON "t19"."customer_id" = "t15"."customer_id"
        ) AS "t20"
      ) AS "t21"
      WHERE
        "t21"."day" <= 20787
    ) AS "t22"
    GROUP BY
      1,
      2
  ) AS "t23"
  GROUP BY
    1
) AS "t24"
WHERE
  "t24"."purchases" > 0

-- cohorts
SELECT
  "t25"."cohort",
  "t25"."month" - "t25"."cohort" AS "offset",
  SUM("t25"."value_fen") AS "value_fen",
  COUNT(*) AS "customers"
FROM (
  SELECT
    "t24"."customer_id",
    "t24"."month",
    "t24"."value_fen",
    MIN("t24"."month") OVER (
      PARTITION BY "t24"."customer_id"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "cohort"
  FROM (
    SELECT
      "t23"."customer_id",
      "t23"."month",
      SUM("t23"."net_fen") AS "value_fen"
    FROM (
      SELECT
        "t22"."order_id",
        "t22"."customer_id",
        "t22"."paid_at",
        "t22"."store",
        "t22"."touchpoint",
        "t22"."products",
        "t22"."net_fen",
        "t22"."day",
        (
          (
            (
              EXTRACT(year FROM TO_TIMESTAMP(CAST(FLOOR((
                EPOCH_US("t22"."paid_at")
              ) / (
                1000000
              )) AS BIGINT) + 28800)) - 1970
            ) * 12
          ) + EXTRACT(month FROM TO_TIMESTAMP(CAST(FLOOR((
            EPOCH_US("t22"."paid_at")
          ) / (
            1000000
          )) AS BIGINT) + 28800))
        ) - 1 AS "month"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t20"."order_id",
            "t20"."customer_id",
            "t20"."paid_at",
            "t20"."store",
            "t20"."touchpoint",
            "t20"."products",
            "t20"."net_fen",
            CAST(FLOOR(
              (
                CAST(FLOOR((
                  EPOCH_US("t20"."paid_at")
                ) / (
                  1000000
                )) AS BIGINT) + 28800
              ) / (
                86400
              )
            ) AS BIGINT) AS "day"
          FROM (
            SELECT
              "t19"."order_id",
              "t19"."customer_id",
              "t19"."paid_at",
              "t19"."store",
              "t19"."touchpoint",
              "t19"."products",
              "t19"."net_fen"
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
            ) AS "t19"
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
                  FROM "touchpoints" AS "t2"
                ) AS "t7"
                  ON "t9"."first_touchpoint" = "t7"."code"
              ) AS "t12"
            ) AS "t15"
              ON "t19"."customer_id" = "t15"."customer_id"
          ) AS "t20"
        ) AS "t21"
        WHERE
          "t21"."day" <= 20777
      ) AS "t22"
    ) AS "t23"
    GROUP BY
      1,
      2
  ) AS "t24"
) AS "t25"
GROUP BY
  1,
  2
