-- counts
WITH "t15" AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      "t13"."customer_id",
      CAST(FLOOR(
        (
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
          ) AS BIGINT) + 3
        ) / (
          7
        )
      ) AS BIGINT) AS "b"
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
    SEMI JOIN (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t6"
      ON "t13"."customer_id" = "t6"."customer_id"
  ) AS "t14"
)
SELECT
  "t23"."key",
  "t23"."offset",
  COUNT(*) AS "customers"
FROM (
  SELECT
    "t22"."start" AS "key",
    "t20"."later" - "t22"."start" AS "offset"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t16"."customer_id",
        MIN("t16"."b") AS "start"
      FROM "t15" AS "t16"
      GROUP BY
        1
    ) AS "t19"
    WHERE
      "t19"."start" >= 2965 AND "t19"."start" <= 2970
  ) AS "t22"
  INNER JOIN (
    SELECT
      "t17"."customer_id" AS "later_customer",
      "t17"."b" AS "later"
    FROM "t15" AS "t17"
  ) AS "t20"
    ON "t22"."customer_id" = "t20"."later_customer"
    AND "t20"."later" >= "t22"."start"
    AND "t20"."later" <= (
      "t22"."start" + 3
    )
) AS "t23"
GROUP BY
  1,
  2

-- reach
SELECT
  CAST(FLOOR(
    (
      CAST(FLOOR(
        (
          CAST(FLOOR((
            EPOCH_US(MAX("t1"."paid_at"))
          ) / (
            1000000
          )) AS BIGINT) + 28800
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
    *
  FROM "orders" AS "t0"
  WHERE
    "t0"."customer_id" IS NOT NULL
    AND "t0"."status" IN ('completed', 'partially_refunded')
) AS "t1"
