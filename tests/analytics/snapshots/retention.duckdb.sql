-- counts
WITH "t6" AS (
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
), "t18" AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      "t16"."customer_id",
      CAST(FLOOR(
        (
          CAST(FLOOR(
            (
              CAST(FLOOR((
                EPOCH_US("t16"."paid_at")
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
        "t13".*
        EXCLUDE ("canonical_id")
      FROM (
        SELECT
          "t11".*
          EXCLUDE ("customer_id_right")
        FROM (
          SELECT
            "t10"."order_id",
            COALESCE("t10"."canonical_id", "t10"."customer_id") AS "customer_id",
            "t10"."paid_at",
            "t10"."store",
            "t10"."touchpoint",
            "t10"."products",
            "t10"."net_fen",
            "t10"."customer_id_right",
            "t10"."canonical_id"
          FROM (
            SELECT
              "t9"."order_id",
              "t9"."customer_id",
              "t9"."paid_at",
              "t9"."store",
              "t9"."touchpoint",
              "t9"."products",
              "t9"."net_fen",
              "t5"."customer_id" AS "customer_id_right",
              "t5"."canonical_id"
            FROM "t6" AS "t9"
            LEFT OUTER JOIN (
              SELECT
                *
              FROM "customer_map" AS "t2"
            ) AS "t5"
              ON "t9"."customer_id" = "t5"."customer_id"
          ) AS "t10"
        ) AS "t11"
      ) AS "t13"
    ) AS "t16"
    SEMI JOIN (
      SELECT
        "t1"."customer_id"
      FROM "customers" AS "t1"
      WHERE
        "t1"."merged_into_id" IS NULL
    ) AS "t7"
      ON "t16"."customer_id" = "t7"."customer_id"
  ) AS "t17"
)
SELECT
  "t28"."key",
  "t28"."offset",
  "t28"."customers",
  "t14"."last"
FROM (
  SELECT
    "t26"."key",
    "t26"."offset",
    COUNT(*) AS "customers"
  FROM (
    SELECT
      "t25"."start" AS "key",
      "t23"."later" - "t25"."start" AS "offset"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t19"."customer_id",
          MIN("t19"."b") AS "start"
        FROM "t18" AS "t19"
        GROUP BY
          1
      ) AS "t22"
      WHERE
        "t22"."start" >= 2965 AND "t22"."start" <= 2970
    ) AS "t25"
    INNER JOIN (
      SELECT
        "t20"."customer_id" AS "later_customer",
        "t20"."b" AS "later"
      FROM "t18" AS "t20"
    ) AS "t23"
      ON "t25"."customer_id" = "t23"."later_customer"
      AND "t23"."later" >= "t25"."start"
      AND "t23"."later" <= (
        "t25"."start" + 3
      )
  ) AS "t26"
  GROUP BY
    1,
    2
) AS "t28"
CROSS JOIN (
  SELECT
    CAST(FLOOR(
      (
        CAST(FLOOR(
          (
            CAST(FLOOR((
              EPOCH_US(MAX("t8"."paid_at"))
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
  FROM "t6" AS "t8"
) AS "t14"
