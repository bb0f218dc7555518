-- summary
WITH "t22" AS (
  SELECT
    "t21"."customer_id",
    "t21"."day",
    SUM("t21"."net_fen") AS "value_fen"
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
          CAST(EPOCH(CAST("t20"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800
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
  GROUP BY
    1,
    2
)
SELECT
  "t32".*
  EXCLUDE ("later_customer")
FROM (
  SELECT
    "t31"."customer_id",
    "t31"."first_day",
    "t31"."last_day",
    "t31"."purchases",
    "t31"."total_fen",
    "t31"."first_fen",
    "t31"."later_customer",
    COALESCE("t31"."holdout", 0) AS "holdout"
  FROM (
    SELECT
      "t30"."customer_id",
      "t30"."first_day",
      "t30"."last_day",
      "t30"."purchases",
      "t30"."total_fen",
      "t30"."first_fen",
      "t27"."later_customer",
      "t27"."holdout"
    FROM (
      SELECT
        "t28"."customer_id",
        MIN("t28"."first_day") AS "first_day",
        MAX("t28"."day") AS "last_day",
        COUNT(*) AS "purchases",
        SUM("t28"."value_fen") AS "total_fen",
        SUM("t28"."value_fen") FILTER(WHERE
          "t28"."day" = "t28"."first_day") AS "first_fen"
      FROM (
        SELECT
          "t24"."customer_id",
          "t24"."day",
          "t24"."value_fen",
          MIN("t24"."day") OVER (
            PARTITION BY "t24"."customer_id"
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS "first_day"
        FROM (
          SELECT
            *
          FROM "t22" AS "t23"
          WHERE
            "t23"."day" <= 20777
        ) AS "t24"
      ) AS "t28"
      GROUP BY
        1
    ) AS "t30"
    LEFT OUTER JOIN (
      SELECT
        "t25"."customer_id" AS "later_customer",
        COUNT(*) AS "holdout"
      FROM (
        SELECT
          *
        FROM "t22" AS "t23"
        WHERE
          "t23"."day" > 20777 AND "t23"."day" <= 20787
      ) AS "t25"
      GROUP BY
        1
    ) AS "t27"
      ON "t30"."customer_id" = "t27"."later_customer"
  ) AS "t31"
) AS "t32"

-- cohorts
WITH "t21" AS (
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
        CAST(EPOCH(CAST("t20"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800
      ) / (
        86400
      )
    ) AS BIGINT) AS "day",
    (
      (
        (
          EXTRACT(year FROM TO_TIMESTAMP(CAST(EPOCH(CAST("t20"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800)) - 1970
        ) * 12
      ) + EXTRACT(month FROM TO_TIMESTAMP(CAST(EPOCH(CAST("t20"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800))
    ) - 1 AS "month"
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
  WHERE
    CAST(FLOOR(
      (
        CAST(EPOCH(CAST("t20"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800
      ) / (
        86400
      )
    ) AS BIGINT) <= 20777
)
SELECT
  "t27"."cohort",
  "t27"."offset",
  SUM("t27"."net_fen") AS "value_fen",
  COUNT(DISTINCT "t27"."customer_id") AS "customers"
FROM (
  SELECT
    "t26"."order_id",
    "t26"."customer_id",
    "t26"."paid_at",
    "t26"."store",
    "t26"."touchpoint",
    "t26"."products",
    "t26"."net_fen",
    "t26"."day",
    "t26"."month",
    "t26"."first_customer",
    "t26"."cohort",
    "t26"."month" - "t26"."cohort" AS "offset"
  FROM (
    SELECT
      "t23"."order_id",
      "t23"."customer_id",
      "t23"."paid_at",
      "t23"."store",
      "t23"."touchpoint",
      "t23"."products",
      "t23"."net_fen",
      "t23"."day",
      "t23"."month",
      "t25"."first_customer",
      "t25"."cohort"
    FROM "t21" AS "t23"
    INNER JOIN (
      SELECT
        "t22"."customer_id" AS "first_customer",
        MIN("t22"."month") AS "cohort"
      FROM "t21" AS "t22"
      GROUP BY
        1
    ) AS "t25"
      ON "t23"."customer_id" = "t25"."first_customer"
  ) AS "t26"
) AS "t27"
GROUP BY
  1,
  2
