-- visitors
SELECT
  "t26"."is_current",
  "t26"."key",
  COUNT(*) AS "visitors"
FROM (
  SELECT
    "t25"."customer_id",
    "t25"."is_current",
    "t17"."key"
  FROM (
    SELECT DISTINCT
      "t23"."customer_id",
      "t23"."at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') AS "is_current"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          COALESCE("t16"."canonical_id", "t16"."customer_id") AS "customer_id",
          "t16"."at"
        FROM (
          SELECT
            "t12"."customer_id",
            "t12"."at",
            "t6"."customer_id" AS "customer_id_right",
            "t6"."canonical_id"
          FROM (
            SELECT
              "t2"."customer_id",
              "t2"."timestamp" AS "at"
            FROM "events" AS "t2"
            WHERE
              (
                (
                  (
                    "t2"."type" = 'track'
                  )
                  AND NOT (
                    "t2"."event" IN (
                      'Coupon Expired',
                      'Coupon Expiring',
                      'Coupon Issued',
                      'Coupon Returned',
                      'Flash Sale Lapsed',
                      'Group Buy Failed',
                      'Group Buy Succeeded',
                      'Journey Entered',
                      'Journey Exited',
                      'Journey Step Completed',
                      'Message Delivered',
                      'Message Failed',
                      'Message Planned',
                      'Message Sent',
                      'Order Updated',
                      'Points Adjusted',
                      'Points Earned',
                      'Points Reversed',
                      'Points Spent',
                      'Promotion Refund Confirmed',
                      'Promotion Refund Issued',
                      'SMS Sent',
                      'Task Assigned',
                      'Task Completed',
                      'Tier Changed',
                      'Unsubscribed'
                    )
                  )
                )
                OR "t2"."type" IN ('group', 'identify', 'page', 'screen')
              )
              AND "t2"."date" >= MAKE_DATE(2026, 10, 1)
              AND "t2"."date" <= MAKE_DATE(2026, 12, 1)
              AND "t2"."customer_id" IS NOT NULL
              AND "t2"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
              AND "t2"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t12"
          LEFT OUTER JOIN "customer_map" AS "t6"
            ON "t12"."customer_id" = "t6"."customer_id"
        ) AS "t16"
      ) AS "t20"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t21"."customer_id",
          "t21"."paid_at" AS "at"
        FROM (
          SELECT
            "t19".*
            EXCLUDE ("canonical_id")
          FROM (
            SELECT
              "t18".*
              EXCLUDE ("customer_id_right")
            FROM (
              SELECT
                "t14"."order_id",
                COALESCE("t14"."canonical_id", "t14"."customer_id") AS "customer_id",
                "t14"."paid_at",
                "t14"."store",
                "t14"."touchpoint",
                "t14"."products",
                "t14"."net_fen",
                "t14"."customer_id_right",
                "t14"."canonical_id"
              FROM (
                SELECT
                  "t10"."order_id",
                  "t10"."customer_id",
                  "t10"."paid_at",
                  "t10"."store",
                  "t10"."touchpoint",
                  "t10"."products",
                  "t10"."net_fen",
                  "t6"."customer_id" AS "customer_id_right",
                  "t6"."canonical_id"
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
                ) AS "t10"
                LEFT OUTER JOIN "customer_map" AS "t6"
                  ON "t10"."customer_id" = "t6"."customer_id"
              ) AS "t14"
            ) AS "t18"
          ) AS "t19"
        ) AS "t21"
        WHERE
          "t21"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
          AND "t21"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      ) AS "t22"
    ) AS "t23"
  ) AS "t25"
  INNER JOIN (
    SELECT
      "t13"."customer_id",
      COALESCE("t13"."touchpoint", 'none') AS "key"
    FROM (
      SELECT
        "t8"."customer_id",
        "t8"."first_seen_at",
        "t8"."created_at",
        "t8"."owner_id",
        "t8"."store_id",
        COALESCE("t8"."first_touchpoint", 'none') AS "touchpoint",
        CASE
          WHEN "t8"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t5"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t8"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t5"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      ) AS "t8"
      LEFT OUTER JOIN "touchpoints" AS "t5"
        ON "t8"."first_touchpoint" = "t5"."code"
    ) AS "t13"
  ) AS "t17"
    ON "t25"."customer_id" = "t17"."customer_id"
) AS "t26"
GROUP BY
  1,
  2

-- sales
SELECT
  "t19"."is_current",
  "t19"."key",
  COUNT(DISTINCT "t19"."customer_id") AS "buyers",
  COUNT(*) AS "orders",
  SUM("t19"."net_fen") AS "gmv_fen"
FROM (
  SELECT
    "t18"."order_id",
    "t18"."customer_id",
    "t18"."paid_at",
    "t18"."store",
    "t18"."touchpoint",
    "t18"."products",
    "t18"."net_fen",
    "t18"."is_current",
    "t13"."key"
  FROM (
    SELECT
      "t16"."order_id",
      "t16"."customer_id",
      "t16"."paid_at",
      "t16"."store",
      "t16"."touchpoint",
      "t16"."products",
      "t16"."net_fen",
      "t16"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC') AS "is_current"
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
      "t16"."paid_at" >= MAKE_TIMESTAMPTZ(2026, 10, 1, 16, 0, 0.0, 'UTC')
      AND "t16"."paid_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
  ) AS "t18"
  INNER JOIN (
    SELECT
      "t10"."customer_id",
      COALESCE("t10"."touchpoint", 'none') AS "key"
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
GROUP BY
  1,
  2
