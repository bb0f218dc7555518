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
WITH "t23" AS (
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
)
SELECT
  "t29"."cohort",
  "t29"."offset",
  SUM("t29"."net_fen") AS "value_fen",
  COUNT(DISTINCT "t29"."customer_id") AS "customers"
FROM (
  SELECT
    "t28"."order_id",
    "t28"."customer_id",
    "t28"."paid_at",
    "t28"."store",
    "t28"."touchpoint",
    "t28"."products",
    "t28"."net_fen",
    "t28"."day",
    "t28"."month",
    "t28"."first_customer",
    "t28"."cohort",
    "t28"."month" - "t28"."cohort" AS "offset"
  FROM (
    SELECT
      "t25"."order_id",
      "t25"."customer_id",
      "t25"."paid_at",
      "t25"."store",
      "t25"."touchpoint",
      "t25"."products",
      "t25"."net_fen",
      "t25"."day",
      "t25"."month",
      "t27"."first_customer",
      "t27"."cohort"
    FROM "t23" AS "t25"
    INNER JOIN (
      SELECT
        "t24"."customer_id" AS "first_customer",
        MIN("t24"."month") AS "cohort"
      FROM "t23" AS "t24"
      GROUP BY
        1
    ) AS "t27"
      ON "t25"."customer_id" = "t27"."first_customer"
  ) AS "t28"
) AS "t29"
GROUP BY
  1,
  2
