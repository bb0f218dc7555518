-- cells
WITH "t20" AS (
  SELECT
    "t19"."customer_id",
    "t19"."event",
    "t19"."at",
    "t15"."key"
  FROM (
    SELECT
      "t17"."customer_id",
      "t17"."event",
      "t17"."at"
    FROM (
      SELECT
        "t16".*
        EXCLUDE ("customer_id_right")
      FROM (
        SELECT
          COALESCE("t13"."canonical_id", "t13"."customer_id") AS "customer_id",
          "t13"."event",
          "t13"."at",
          "t13"."customer_id_right",
          "t13"."canonical_id"
        FROM (
          SELECT
            "t11"."customer_id",
            "t11"."event",
            "t11"."at",
            "t9"."customer_id" AS "customer_id_right",
            "t9"."canonical_id"
          FROM (
            SELECT
              "t1"."customer_id",
              "t1"."event",
              "t1"."timestamp" AS "at"
            FROM "events" AS "t1"
            WHERE
              "t1"."customer_id" IS NOT NULL
              AND "t1"."event" IN (
                'Contact Added',
                'Group Joined',
                'Official Account Followed',
                'Order Completed',
                'Product Viewed',
                'QR Code Scanned',
                'Referral Completed'
              )
              AND "t1"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
              AND "t1"."timestamp" < (
                MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC') + INTERVAL '72' HOUR
              )
          ) AS "t11"
          LEFT OUTER JOIN (
            SELECT
              *
            FROM "customer_map" AS "t3"
          ) AS "t9"
            ON "t11"."customer_id" = "t9"."customer_id"
        ) AS "t13"
      ) AS "t16"
    ) AS "t17"
  ) AS "t19"
  INNER JOIN (
    SELECT
      "t12"."customer_id",
      "t12"."touchpoint" AS "key"
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
    ) AS "t12"
  ) AS "t15"
    ON "t19"."customer_id" = "t15"."customer_id"
), "t22" AS (
  SELECT DISTINCT
    "t21"."customer_id",
    "t21"."key",
    "t21"."at" AS "started"
  FROM "t20" AS "t21"
  WHERE
    "t21"."event" IN ('QR Code Scanned', 'Official Account Followed')
    AND "t21"."at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
), "t36" AS (
  SELECT
    "t35"."customer_id",
    "t35"."key",
    "t35"."started",
    MIN("t35"."step_at") AS "reached"
  FROM (
    SELECT
      "t34"."customer_id",
      "t34"."key",
      "t34"."started",
      "t34"."reached",
      "t31"."step_customer",
      "t31"."step_at"
    FROM (
      SELECT
        "t27"."customer_id",
        "t27"."key",
        "t27"."started",
        "t27"."started" AS "reached"
      FROM "t22" AS "t27"
    ) AS "t34"
    INNER JOIN (
      SELECT DISTINCT
        "t21"."customer_id" AS "step_customer",
        "t21"."at" AS "step_at"
      FROM "t20" AS "t21"
      WHERE
        "t21"."event" IN ('Contact Added', 'Group Joined')
    ) AS "t31"
      ON "t34"."customer_id" = "t31"."step_customer"
      AND "t31"."step_at" > "t34"."reached"
      AND "t31"."step_at" <= (
        "t34"."started" + INTERVAL '72' HOUR
      )
  ) AS "t35"
  GROUP BY
    1,
    2,
    3
), "t42" AS (
  SELECT
    "t41"."customer_id",
    "t41"."key",
    "t41"."started",
    MIN("t41"."step_at") AS "reached"
  FROM (
    SELECT
      "t38"."customer_id",
      "t38"."key",
      "t38"."started",
      "t38"."reached",
      "t29"."step_customer",
      "t29"."step_at"
    FROM "t36" AS "t38"
    INNER JOIN (
      SELECT DISTINCT
        "t21"."customer_id" AS "step_customer",
        "t21"."at" AS "step_at"
      FROM "t20" AS "t21"
      WHERE
        "t21"."event" IN ('Product Viewed')
    ) AS "t29"
      ON "t38"."customer_id" = "t29"."step_customer"
      AND "t29"."step_at" > "t38"."reached"
      AND "t29"."step_at" <= (
        "t38"."started" + INTERVAL '72' HOUR
      )
  ) AS "t41"
  GROUP BY
    1,
    2,
    3
), "t47" AS (
  SELECT
    "t46"."customer_id",
    "t46"."key",
    "t46"."started",
    MIN("t46"."step_at") AS "reached"
  FROM (
    SELECT
      "t44"."customer_id",
      "t44"."key",
      "t44"."started",
      "t44"."reached",
      "t30"."step_customer",
      "t30"."step_at"
    FROM "t42" AS "t44"
    INNER JOIN (
      SELECT DISTINCT
        "t21"."customer_id" AS "step_customer",
        "t21"."at" AS "step_at"
      FROM "t20" AS "t21"
      WHERE
        "t21"."event" IN ('Order Completed')
    ) AS "t30"
      ON "t44"."customer_id" = "t30"."step_customer"
      AND "t30"."step_at" > "t44"."reached"
      AND "t30"."step_at" <= (
        "t44"."started" + INTERVAL '72' HOUR
      )
  ) AS "t46"
  GROUP BY
    1,
    2,
    3
)
SELECT
  "t58"."key",
  "t58"."step",
  "t58"."bucket",
  COUNT(*) AS "customers",
  SUM("t58"."seconds") AS "seconds"
FROM (
  SELECT
    "t57"."customer_id",
    "t57"."key",
    "t57"."step",
    "t57"."seconds",
    CASE
      WHEN "t57"."seconds" IS NULL
      THEN -1
      WHEN "t57"."seconds" < 60
      THEN 0
      WHEN "t57"."seconds" < 3600
      THEN 1
      WHEN "t57"."seconds" < 86400
      THEN 2
      WHEN "t57"."seconds" < 604800
      THEN 3
      ELSE 4
    END AS "bucket"
  FROM (
    SELECT
      "t56"."customer_id",
      "t56"."key",
      "t56"."step",
      MIN(
        CASE
          WHEN "t56"."step" = 5
          THEN CAST(FLOOR((
            EPOCH_US("t56"."reached")
          ) / (
            1000000
          )) AS BIGINT) - CAST(FLOOR((
            EPOCH_US("t56"."started")
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
            "t43"."customer_id",
            "t43"."key",
            "t43"."started",
            "t43"."reached",
            3 AS "step"
          FROM "t42" AS "t43"
        ) AS "t45"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t48"."customer_id",
            "t48"."key",
            "t48"."started",
            "t48"."reached",
            4 AS "step"
          FROM "t47" AS "t48"
        ) AS "t50"
      ) AS "t51"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t53"."customer_id",
            "t53"."key",
            "t53"."started",
            "t53"."reached",
            5 AS "step"
          FROM (
            SELECT
              "t52"."customer_id",
              "t52"."key",
              "t52"."started",
              MIN("t52"."step_at") AS "reached"
            FROM (
              SELECT
                "t49"."customer_id",
                "t49"."key",
                "t49"."started",
                "t49"."reached",
                "t28"."step_customer",
                "t28"."step_at"
              FROM "t47" AS "t49"
              INNER JOIN (
                SELECT DISTINCT
                  "t21"."customer_id" AS "step_customer",
                  "t21"."at" AS "step_at"
                FROM "t20" AS "t21"
                WHERE
                  "t21"."event" IN ('Referral Completed')
              ) AS "t28"
                ON "t49"."customer_id" = "t28"."step_customer"
                AND "t28"."step_at" > "t49"."reached"
                AND "t28"."step_at" <= (
                  "t49"."started" + INTERVAL '72' HOUR
                )
            ) AS "t52"
            GROUP BY
              1,
              2,
              3
          ) AS "t53"
        ) AS "t54"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t27"."customer_id",
              "t27"."key",
              "t27"."started",
              "t27"."started" AS "reached",
              1 AS "step"
            FROM "t22" AS "t27"
          ) AS "t32"
          UNION ALL
          SELECT
            *
          FROM (
            SELECT
              "t37"."customer_id",
              "t37"."key",
              "t37"."started",
              "t37"."reached",
              2 AS "step"
            FROM "t36" AS "t37"
          ) AS "t39"
        ) AS "t40"
      ) AS "t55"
    ) AS "t56"
    GROUP BY
      1,
      2,
      3
  ) AS "t57"
) AS "t58"
GROUP BY
  1,
  2,
  3
