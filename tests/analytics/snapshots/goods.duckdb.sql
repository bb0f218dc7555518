-- items
SELECT
  "t22"."key",
  MAX("t22"."name") AS "name",
  MAX("t22"."category") AS "category",
  COUNT(DISTINCT "t22"."customer_id") AS "buyers",
  COUNT(DISTINCT "t22"."order_id") AS "orders",
  SUM("t22"."quantity") AS "quantity",
  SUM("t22"."value_fen") AS "value_fen"
FROM (
  SELECT
    "t21"."order_id",
    "t21"."customer_id",
    COALESCE("t21"."item"."product_id", '') AS "product_id",
    COALESCE("t21"."item"."name", '') AS "name",
    COALESCE("t21"."item"."category", '') AS "category",
    COALESCE("t21"."item"."quantity", 1) AS "quantity",
    CAST(CAST("t21"."item"."price" AS DECIMAL(18, 2)) * 100 * COALESCE("t21"."item"."quantity", 1) AS BIGINT) AS "value_fen",
    COALESCE("t21"."item"."category", '') AS "key"
  FROM (
    SELECT
      "t20".*
      REPLACE ("ibis_table_unnest_column_…" AS "item")
    FROM (
      SELECT
        "t19"."order_id",
        "t19"."customer_id",
        "t19"."paid_at",
        "t19"."store",
        "t19"."touchpoint",
        "t19"."products",
        "t19"."net_fen",
        CAST("t19"."products" AS STRUCT("product_id" TEXT, "name" TEXT, "category" TEXT, "price" TEXT, "quantity" BIGINT)[]) AS "item"
      FROM (
        SELECT
          "t18"."order_id",
          "t18"."customer_id",
          "t18"."paid_at",
          "t18"."store",
          "t18"."touchpoint",
          "t18"."products",
          "t18"."net_fen"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t15".*
              EXCLUDE ("canonical_id")
            FROM (
              SELECT
                "t14".*
                EXCLUDE ("customer_id_right")
              FROM (
                SELECT
                  "t11"."order_id",
                  COALESCE("t11"."canonical_id", "t11"."customer_id") AS "customer_id",
                  "t11"."paid_at",
                  "t11"."store",
                  "t11"."touchpoint",
                  "t11"."products",
                  "t11"."net_fen",
                  "t11"."customer_id_right",
                  "t11"."canonical_id"
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
                  ) AS "t9"
                  LEFT OUTER JOIN "customer_map" AS "t5"
                    ON "t9"."customer_id" = "t5"."customer_id"
                ) AS "t11"
              ) AS "t14"
            ) AS "t15"
          ) AS "t16"
          WHERE
            "t16"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
            AND "t16"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
        ) AS "t18"
        INNER JOIN (
          SELECT
            "t10"."customer_id"
          FROM (
            SELECT
              "t7"."customer_id",
              "t7"."first_seen_at",
              "t7"."created_at",
              "t7"."owner_id",
              "t7"."store_id",
              COALESCE("t7"."first_touchpoint", 'none') AS "touchpoint",
              CASE
                WHEN "t7"."first_touchpoint" IS NULL
                THEN 'none'
                ELSE COALESCE("t4"."group", 'other')
              END AS "touchpoint_type",
              CASE
                WHEN "t7"."first_touchpoint" IS NULL
                THEN 'none'
                ELSE COALESCE("t4"."entry_type", 'owned')
              END AS "entry_type"
            FROM (
              SELECT
                *
              FROM "customers" AS "t0"
              WHERE
                "t0"."merged_into_id" IS NULL
            ) AS "t7"
            LEFT OUTER JOIN "touchpoints" AS "t4"
              ON "t7"."first_touchpoint" = "t4"."code"
          ) AS "t10"
        ) AS "t13"
          ON "t18"."customer_id" = "t13"."customer_id"
      ) AS "t19"
    ) AS "t20"
    CROSS JOIN UNNEST("t20"."item") AS "ibis_table_unnest_…"("ibis_table_unnest_column_…")
  ) AS "t21"
) AS "t22"
GROUP BY
  1
