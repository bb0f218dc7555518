-- visitors
SELECT
  "t28"."is_current",
  "t28"."key",
  COUNT(*) AS "visitors"
FROM (
  SELECT
    "t27"."customer_id",
    "t27"."is_current",
    "t19"."key"
  FROM (
    SELECT DISTINCT
      "t25"."customer_id",
      "t25"."at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') AS "is_current"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          COALESCE("t18"."canonical_id", "t18"."customer_id") AS "customer_id",
          "t18"."at"
        FROM (
          SELECT
            "t14"."customer_id",
            "t14"."at",
            "t9"."customer_id" AS "customer_id_right",
            "t9"."canonical_id"
          FROM (
            SELECT
              "t1"."customer_id",
              "t1"."timestamp" AS "at"
            FROM "events" AS "t1"
            WHERE
              (
                (
                  (
                    "t1"."type" = 'track'
                  )
                  AND NOT (
                    "t1"."event" IN (
                      'Coupon Issued',
                      'Message Sent',
                      'Order Updated',
                      'SMS Sent',
                      'Task Assigned',
                      'Task Completed'
                    )
                  )
                )
                OR "t1"."type" IN ('group', 'identify', 'page', 'screen')
              )
              AND "t1"."date" >= MAKE_DATE(2026, 10, 1)
              AND "t1"."date" <= MAKE_DATE(2026, 12, 1)
              AND "t1"."customer_id" IS NOT NULL
              AND "t1"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
              AND "t1"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t14"
          LEFT OUTER JOIN (
            SELECT
              *
            FROM "customer_map" AS "t3"
          ) AS "t9"
            ON "t14"."customer_id" = "t9"."customer_id"
        ) AS "t18"
      ) AS "t22"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t23"."customer_id",
          "t23"."paid_at" AS "at"
        FROM (
          SELECT
            "t21".*
            EXCLUDE ("canonical_id")
          FROM (
            SELECT
              "t20".*
              EXCLUDE ("customer_id_right")
            FROM (
              SELECT
                "t16"."order_id",
                COALESCE("t16"."canonical_id", "t16"."customer_id") AS "customer_id",
                "t16"."paid_at",
                "t16"."store",
                "t16"."touchpoint",
                "t16"."products",
                "t16"."net_fen",
                "t16"."customer_id_right",
                "t16"."canonical_id"
              FROM (
                SELECT
                  "t12"."order_id",
                  "t12"."customer_id",
                  "t12"."paid_at",
                  "t12"."store",
                  "t12"."touchpoint",
                  "t12"."products",
                  "t12"."net_fen",
                  "t9"."customer_id" AS "customer_id_right",
                  "t9"."canonical_id"
                FROM (
                  SELECT
                    "t4"."order_id",
                    "t4"."customer_id",
                    "t4"."paid_at",
                    "t4"."store",
                    "t4"."touchpoint",
                    "t4"."products",
                    COALESCE("t4"."amount_fen", 0) - COALESCE("t4"."refunded_fen", 0) AS "net_fen"
                  FROM "orders" AS "t4"
                  WHERE
                    "t4"."customer_id" IS NOT NULL
                    AND "t4"."paid_at" IS NOT NULL
                    AND "t4"."status" IN ('completed', 'partially_refunded')
                ) AS "t12"
                LEFT OUTER JOIN (
                  SELECT
                    *
                  FROM "customer_map" AS "t3"
                ) AS "t9"
                  ON "t12"."customer_id" = "t9"."customer_id"
              ) AS "t16"
            ) AS "t20"
          ) AS "t21"
        ) AS "t23"
        WHERE
          "t23"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
          AND "t23"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      ) AS "t24"
    ) AS "t25"
  ) AS "t27"
  INNER JOIN (
    SELECT
      "t15"."customer_id",
      COALESCE("t15"."touchpoint", 'none') AS "key"
    FROM (
      SELECT
        "t10"."customer_id",
        "t10"."first_seen_at",
        "t10"."created_at",
        "t10"."owner_id",
        "t10"."store_id",
        COALESCE("t10"."first_touchpoint", 'none') AS "touchpoint",
        CASE
          WHEN "t10"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t8"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t10"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t8"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      ) AS "t10"
      LEFT OUTER JOIN (
        SELECT
          *
        FROM "touchpoints" AS "t2"
      ) AS "t8"
        ON "t10"."first_touchpoint" = "t8"."code"
    ) AS "t15"
  ) AS "t19"
    ON "t27"."customer_id" = "t19"."customer_id"
) AS "t28"
GROUP BY
  1,
  2

-- sales
SELECT
  "t21"."is_current",
  "t21"."key",
  COUNT(DISTINCT "t21"."customer_id") AS "buyers",
  COUNT(*) AS "orders",
  SUM("t21"."net_fen") AS "gmv_fen"
FROM (
  SELECT
    "t20"."order_id",
    "t20"."customer_id",
    "t20"."paid_at",
    "t20"."store",
    "t20"."touchpoint",
    "t20"."products",
    "t20"."net_fen",
    "t20"."is_current",
    "t15"."key"
  FROM (
    SELECT
      "t18"."order_id",
      "t18"."customer_id",
      "t18"."paid_at",
      "t18"."store",
      "t18"."touchpoint",
      "t18"."products",
      "t18"."net_fen",
      "t18"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') AS "is_current"
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
      "t18"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
      AND "t18"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
  ) AS "t20"
  INNER JOIN (
    SELECT
      "t12"."customer_id",
      COALESCE("t12"."touchpoint", 'none') AS "key"
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
GROUP BY
  1,
  2
