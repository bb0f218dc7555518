-- counts
WITH "t5" AS (
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
), "t17" AS (
  SELECT DISTINCT
    *
  FROM (
    SELECT
      "t15"."customer_id",
      CAST(FLOOR(
        (
          CAST(FLOOR(
            (
              CAST(FLOOR((
                EPOCH_US("t15"."paid_at")
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
        "t12".*
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
              "t3"."customer_id" AS "customer_id_right",
              "t3"."canonical_id"
            FROM "t5" AS "t8"
            LEFT OUTER JOIN "customer_map" AS "t3"
              ON "t8"."customer_id" = "t3"."customer_id"
          ) AS "t9"
        ) AS "t10"
      ) AS "t12"
    ) AS "t15"
    SEMI JOIN (
      SELECT
        "t1"."customer_id"
      FROM "customers" AS "t1"
      WHERE
        "t1"."merged_into_id" IS NULL
    ) AS "t6"
      ON "t15"."customer_id" = "t6"."customer_id"
  ) AS "t16"
)
SELECT
  "t27"."key",
  "t27"."offset",
  "t27"."customers",
  "t13"."last"
FROM (
  SELECT
    "t25"."key",
    "t25"."offset",
    COUNT(*) AS "customers"
  FROM (
    SELECT
      "t24"."start" AS "key",
      "t22"."later" - "t24"."start" AS "offset"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t18"."customer_id",
          MIN("t18"."b") AS "start"
        FROM "t17" AS "t18"
        GROUP BY
          1
      ) AS "t21"
      WHERE
        "t21"."start" >= 2965 AND "t21"."start" <= 2970
    ) AS "t24"
    INNER JOIN (
      SELECT
        "t19"."customer_id" AS "later_customer",
        "t19"."b" AS "later"
      FROM "t17" AS "t19"
    ) AS "t22"
      ON "t24"."customer_id" = "t22"."later_customer"
      AND "t22"."later" >= "t24"."start"
      AND "t22"."later" <= (
        "t24"."start" + 3
      )
  ) AS "t25"
  GROUP BY
    1,
    2
) AS "t27"
CROSS JOIN (
  SELECT
    CAST(FLOOR(
      (
        CAST(FLOOR(
          (
            CAST(FLOOR((
              EPOCH_US(MAX("t7"."paid_at"))
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
  FROM "t5" AS "t7"
) AS "t13"
