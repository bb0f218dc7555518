-- items
SELECT
  "t24"."key",
  MAX("t24"."name") AS "name",
  MAX("t24"."category") AS "category",
  COUNT(DISTINCT "t24"."customer_id") AS "buyers",
  COUNT(DISTINCT "t24"."order_id") AS "orders",
  SUM("t24"."quantity") AS "quantity",
  SUM("t24"."value_fen") AS "value_fen"
FROM (
  SELECT
    "t23"."order_id",
    "t23"."customer_id",
    COALESCE("t23"."item"."product_id", '') AS "product_id",
    COALESCE("t23"."item"."name", '') AS "name",
    COALESCE("t23"."item"."category", '') AS "category",
    COALESCE("t23"."item"."quantity", 1) AS "quantity",
    CAST(CAST("t23"."item"."price" AS DECIMAL(18, 2)) * 100 * COALESCE("t23"."item"."quantity", 1) AS BIGINT) AS "value_fen",
    COALESCE("t23"."item"."category", '') AS "key"
  FROM (
    SELECT
      "t22".*
      REPLACE ("ibis_table_unnest_column_…" AS "item")
    FROM (
      SELECT
        "t21"."order_id",
        "t21"."customer_id",
        "t21"."paid_at",
        "t21"."store",
        "t21"."touchpoint",
        "t21"."products",
        "t21"."net_fen",
        CAST("t21"."products" AS STRUCT("product_id" TEXT, "name" TEXT, "category" TEXT, "price" TEXT, "quantity" BIGINT)[]) AS "item"
      FROM (
        SELECT
          "t20"."order_id",
          "t20"."customer_id",
          "t20"."paid_at",
          "t20"."store",
          "t20"."touchpoint",
          "t20"."products",
          "t20"."net_fen"
        FROM (
          SELECT
            *
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
          WHERE
            "t18"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
            AND "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
        ) AS "t20"
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
              FROM "touchpoints" AS "t1"
            ) AS "t7"
              ON "t9"."first_touchpoint" = "t7"."code"
          ) AS "t12"
        ) AS "t15"
          ON "t20"."customer_id" = "t15"."customer_id"
      ) AS "t21"
    ) AS "t22"
    CROSS JOIN UNNEST("t22"."item") AS "ibis_table_unnest_…"("ibis_table_unnest_column_…")
  ) AS "t23"
) AS "t24"
GROUP BY
  1
