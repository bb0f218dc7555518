-- cells
WITH "t18" AS (
  SELECT
    "t17"."customer_id",
    "t17"."event",
    "t17"."at",
    "t13"."key"
  FROM (
    SELECT
      "t15"."customer_id",
      "t15"."event",
      "t15"."at"
    FROM (
      SELECT
        "t14".*
        EXCLUDE ("customer_id_right")
      FROM (
        SELECT
          COALESCE("t11"."canonical_id", "t11"."customer_id") AS "customer_id",
          "t11"."event",
          "t11"."at",
          "t11"."customer_id_right",
          "t11"."canonical_id"
        FROM (
          SELECT
            "t9"."customer_id",
            "t9"."event",
            "t9"."at",
            "t5"."customer_id" AS "customer_id_right",
            "t5"."canonical_id"
          FROM (
            SELECT
              "t2"."customer_id",
              "t2"."event",
              "t2"."timestamp" AS "at"
            FROM "events" AS "t2"
            WHERE
              "t2"."customer_id" IS NOT NULL
              AND "t2"."event" IN (
                'Contact Added',
                'Group Joined',
                'Official Account Followed',
                'Order Completed',
                'Product Viewed',
                'QR Code Scanned',
                'Referral Completed'
              )
              AND "t2"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
              AND "t2"."timestamp" < (
                MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC') + INTERVAL '72' HOUR
              )
          ) AS "t9"
          LEFT OUTER JOIN "customer_map" AS "t5"
            ON "t9"."customer_id" = "t5"."customer_id"
        ) AS "t11"
      ) AS "t14"
    ) AS "t15"
  ) AS "t17"
  INNER JOIN (
    SELECT
      "t10"."customer_id",
      "t10"."touchpoint" AS "key"
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
          ELSE COALESCE("t4"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t8"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t4"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t0"
        WHERE
          "t0"."merged_into_id" IS NULL
      ) AS "t8"
      LEFT OUTER JOIN "touchpoints" AS "t4"
        ON "t8"."first_touchpoint" = "t4"."code"
    ) AS "t10"
  ) AS "t13"
    ON "t17"."customer_id" = "t13"."customer_id"
), "t20" AS (
  SELECT DISTINCT
    "t19"."customer_id",
    "t19"."key",
    "t19"."at" AS "started"
  FROM "t18" AS "t19"
  WHERE
    "t19"."event" IN ('QR Code Scanned', 'Official Account Followed')
    AND "t19"."at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
), "t34" AS (
  SELECT
    "t33"."customer_id",
    "t33"."key",
    "t33"."started",
    MIN("t33"."step_at") AS "reached"
  FROM (
    SELECT
      "t32"."customer_id",
      "t32"."key",
      "t32"."started",
      "t32"."reached",
      "t29"."step_customer",
      "t29"."step_at"
    FROM (
      SELECT
        "t25"."customer_id",
        "t25"."key",
        "t25"."started",
        "t25"."started" AS "reached"
      FROM "t20" AS "t25"
    ) AS "t32"
    INNER JOIN (
      SELECT DISTINCT
        "t19"."customer_id" AS "step_customer",
        "t19"."at" AS "step_at"
      FROM "t18" AS "t19"
      WHERE
        "t19"."event" IN ('Contact Added', 'Group Joined')
    ) AS "t29"
      ON "t32"."customer_id" = "t29"."step_customer"
      AND "t29"."step_at" > "t32"."reached"
      AND "t29"."step_at" <= (
        "t32"."started" + INTERVAL '72' HOUR
      )
  ) AS "t33"
  GROUP BY
    1,
    2,
    3
), "t40" AS (
  SELECT
    "t39"."customer_id",
    "t39"."key",
    "t39"."started",
    MIN("t39"."step_at") AS "reached"
  FROM (
    SELECT
      "t36"."customer_id",
      "t36"."key",
      "t36"."started",
      "t36"."reached",
      "t27"."step_customer",
      "t27"."step_at"
    FROM "t34" AS "t36"
    INNER JOIN (
      SELECT DISTINCT
        "t19"."customer_id" AS "step_customer",
        "t19"."at" AS "step_at"
      FROM "t18" AS "t19"
      WHERE
        "t19"."event" IN ('Product Viewed')
    ) AS "t27"
      ON "t36"."customer_id" = "t27"."step_customer"
      AND "t27"."step_at" > "t36"."reached"
      AND "t27"."step_at" <= (
        "t36"."started" + INTERVAL '72' HOUR
      )
  ) AS "t39"
  GROUP BY
    1,
    2,
    3
), "t45" AS (
  SELECT
    "t44"."customer_id",
    "t44"."key",
    "t44"."started",
    MIN("t44"."step_at") AS "reached"
  FROM (
    SELECT
      "t42"."customer_id",
      "t42"."key",
      "t42"."started",
      "t42"."reached",
      "t28"."step_customer",
      "t28"."step_at"
    FROM "t40" AS "t42"
    INNER JOIN (
      SELECT DISTINCT
        "t19"."customer_id" AS "step_customer",
        "t19"."at" AS "step_at"
      FROM "t18" AS "t19"
      WHERE
        "t19"."event" IN ('Order Completed')
    ) AS "t28"
      ON "t42"."customer_id" = "t28"."step_customer"
      AND "t28"."step_at" > "t42"."reached"
      AND "t28"."step_at" <= (
        "t42"."started" + INTERVAL '72' HOUR
      )
  ) AS "t44"
  GROUP BY
    1,
    2,
    3
)
SELECT
  "t56"."key",
  "t56"."step",
  "t56"."bucket",
  COUNT(*) AS "customers",
  SUM("t56"."seconds") AS "seconds"
FROM (
  SELECT
    "t55"."customer_id",
    "t55"."key",
    "t55"."step",
    "t55"."seconds",
    CASE
      WHEN "t55"."seconds" IS NULL
      THEN -1
      WHEN "t55"."seconds" < 60
      THEN 0
      WHEN "t55"."seconds" < 3600
      THEN 1
      WHEN "t55"."seconds" < 86400
      THEN 2
      WHEN "t55"."seconds" < 604800
      THEN 3
      ELSE 4
    END AS "bucket"
  FROM (
    SELECT
      "t54"."customer_id",
      "t54"."key",
      "t54"."step",
      MIN(
        CASE
          WHEN "t54"."step" = 5
          THEN CAST(FLOOR((
            EPOCH_US("t54"."reached")
          ) / (
            1000000
          )) AS BIGINT) - CAST(FLOOR((
            EPOCH_US("t54"."started")
          ) / (
            1000000
          )) AS BIGINT)
          ELSE CAST(NULL AS BIGINT)
        END
      ) AS "seconds"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t41"."customer_id",
            "t41"."key",
            "t41"."started",
            "t41"."reached",
            3 AS "step"
          FROM "t40" AS "t41"
        ) AS "t43"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t46"."customer_id",
            "t46"."key",
            "t46"."started",
            "t46"."reached",
            4 AS "step"
          FROM "t45" AS "t46"
        ) AS "t48"
      ) AS "t49"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t51"."customer_id",
            "t51"."key",
            "t51"."started",
            "t51"."reached",
            5 AS "step"
          FROM (
            SELECT
              "t50"."customer_id",
              "t50"."key",
              "t50"."started",
              MIN("t50"."step_at") AS "reached"
            FROM (
              SELECT
                "t47"."customer_id",
                "t47"."key",
                "t47"."started",
                "t47"."reached",
                "t26"."step_customer",
                "t26"."step_at"
              FROM "t45" AS "t47"
              INNER JOIN (
                SELECT DISTINCT
                  "t19"."customer_id" AS "step_customer",
                  "t19"."at" AS "step_at"
                FROM "t18" AS "t19"
                WHERE
                  "t19"."event" IN ('Referral Completed')
              ) AS "t26"
                ON "t47"."customer_id" = "t26"."step_customer"
                AND "t26"."step_at" > "t47"."reached"
                AND "t26"."step_at" <= (
                  "t47"."started" + INTERVAL '72' HOUR
                )
            ) AS "t50"
            GROUP BY
              1,
              2,
              3
          ) AS "t51"
        ) AS "t52"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t25"."customer_id",
              "t25"."key",
              "t25"."started",
              "t25"."started" AS "reached",
              1 AS "step"
            FROM "t20" AS "t25"
          ) AS "t30"
          UNION ALL
          SELECT
            *
          FROM (
            SELECT
              "t35"."customer_id",
              "t35"."key",
              "t35"."started",
              "t35"."reached",
              2 AS "step"
            FROM "t34" AS "t35"
          ) AS "t37"
        ) AS "t38"
      ) AS "t53"
    ) AS "t54"
    GROUP BY
      1,
      2,
      3
  ) AS "t55"
) AS "t56"
GROUP BY
  1,
  2,
  3
