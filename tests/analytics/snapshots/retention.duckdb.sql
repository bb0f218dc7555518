-- counts
SELECT
  "t27"."key",
  "t27"."offset",
  COUNT(*) AS "customers"
FROM (
  SELECT
    CAST("t26"."start" AS TEXT) AS "key",
    "t26"."start",
    "t23"."later" - "t26"."start" AS "offset"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t22"."customer_id",
        MIN("t22"."b") AS "start"
      FROM (
        SELECT
          "t20"."customer_id",
          "t20"."b",
          "t15"."touchpoint"
        FROM (
          SELECT DISTINCT
            "t18"."customer_id",
            CAST(FLOOR(
              (
                CAST(FLOOR(
                  (
                    CAST(EPOCH(CAST("t18"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800
                  ) / (
                    86400
                  )
                ) AS BIGINT) + 3
              ) / (
                7
              )
            ) AS BIGINT) AS "b"
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
        ) AS "t20"
        INNER JOIN (
          SELECT
            "t12"."customer_id",
            "t12"."touchpoint"
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
      ) AS "t22"
      GROUP BY
        1
    ) AS "t24"
    WHERE
      "t24"."start" >= 2965 AND "t24"."start" <= 2970
  ) AS "t26"
  INNER JOIN (
    SELECT
      "t20"."customer_id" AS "later_customer",
      "t20"."b" AS "later",
      "t15"."touchpoint"
    FROM (
      SELECT DISTINCT
        "t18"."customer_id",
        CAST(FLOOR(
          (
            CAST(FLOOR(
              (
                CAST(EPOCH(CAST("t18"."paid_at" AS TIMESTAMP)) AS BIGINT) + 28800
              ) / (
                86400
              )
            ) AS BIGINT) + 3
          ) / (
            7
          )
        ) AS BIGINT) AS "b"
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
    ) AS "t20"
    INNER JOIN (
      SELECT
        "t12"."customer_id",
        "t12"."touchpoint"
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
  ) AS "t23"
    ON "t26"."customer_id" = "t23"."later_customer"
    AND "t23"."later" >= "t26"."start"
    AND "t23"."later" <= (
      "t26"."start" + 3
    )
) AS "t27"
GROUP BY
  1,
  2

-- reach
SELECT
  CAST(FLOOR(
    (
      CAST(FLOOR(
        (
          CAST(EPOCH(CAST(MAX("t9"."paid_at") AS TIMESTAMP)) AS BIGINT) + 28800
        ) / (
          86400
        )
      ) AS BIGINT) + 3
    ) / (
      7
    )
  ) AS BIGINT) AS "last"
FROM (
  SELECT
    "t8".*
    EXCLUDE ("canonical_id")
  FROM (
    SELECT
      "t7".*
      EXCLUDE ("customer_id_right")
    FROM (
      SELECT
        "t6"."order_id",
        COALESCE("t6"."canonical_id", "t6"."customer_id") AS "customer_id",
        "t6"."paid_at",
        "t6"."store",
        "t6"."touchpoint",
        "t6"."products",
        "t6"."net_fen",
        "t6"."customer_id_right",
        "t6"."canonical_id"
      FROM (
        SELECT
          "t5"."order_id",
          "t5"."customer_id",
          "t5"."paid_at",
          "t5"."store",
          "t5"."touchpoint",
          "t5"."products",
          "t5"."net_fen",
          "t3"."customer_id" AS "customer_id_right",
          "t3"."canonical_id"
        FROM (
          SELECT
            "t0"."order_id",
            "t0"."customer_id",
            "t0"."paid_at",
            "t0"."store",
            "t0"."touchpoint",
            "t0"."products",
            COALESCE("t0"."amount_fen", 0) - COALESCE("t0"."refunded_fen", 0) AS "net_fen"
          FROM "orders" AS "t0"
          WHERE
            "t0"."customer_id" IS NOT NULL
            AND "t0"."paid_at" IS NOT NULL
            AND "t0"."status" IN ('completed', 'partially_refunded')
        ) AS "t5"
        LEFT OUTER JOIN (
          SELECT
            *
          FROM "customer_map" AS "t1"
        ) AS "t3"
          ON "t5"."customer_id" = "t3"."customer_id"
      ) AS "t6"
    ) AS "t7"
  ) AS "t8"
) AS "t9"
