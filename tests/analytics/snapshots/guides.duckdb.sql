-- customers
SELECT
  "t7"."owner_id",
  COUNT(*) AS "customers",
  SUM(
    CAST((
      "t7"."first_seen_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
    )
    AND (
      "t7"."first_seen_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS INT)
  ) AS "new_customers"
FROM (
  SELECT
    "t6"."customer_id",
    "t6"."owner_id",
    "t6"."first_seen_at"
  FROM (
    SELECT
      "t5"."customer_id",
      "t5"."first_seen_at",
      "t5"."created_at",
      "t5"."owner_id",
      "t5"."store_id",
      COALESCE("t5"."first_touchpoint", 'none') AS "touchpoint",
      CASE
        WHEN "t5"."first_touchpoint" IS NULL
        THEN 'none'
        ELSE COALESCE("t4"."group", 'other')
      END AS "touchpoint_type",
      CASE
        WHEN "t5"."first_touchpoint" IS NULL
        THEN 'none'
        ELSE COALESCE("t4"."entry_type", 'owned')
      END AS "entry_type"
    FROM (
      SELECT
        *
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t5"
    LEFT OUTER JOIN (
      SELECT
        *
      FROM "touchpoints" AS "t1"
    ) AS "t4"
      ON "t5"."first_touchpoint" = "t4"."code"
  ) AS "t6"
  WHERE
    "t6"."owner_id" IS NOT NULL
) AS "t7"
GROUP BY
  1

-- acts
SELECT
  "t18"."owner_id",
  COUNT(DISTINCT "t18"."customer_id") FILTER(WHERE
    "t18"."event" = 'Contact Deleted') AS "lost_customers",
  SUM(CAST("t18"."event" = 'Message Sent' AS INT)) AS "messages"
FROM (
  SELECT
    "t16"."customer_id",
    "t16"."event",
    "t17"."owner_id",
    "t17"."first_seen_at"
  FROM (
    SELECT
      COALESCE("t12"."canonical_id", "t12"."customer_id") AS "customer_id",
      "t12"."event"
    FROM (
      SELECT
        "t10"."customer_id",
        "t10"."event",
        "t7"."customer_id" AS "customer_id_right",
        "t7"."canonical_id"
      FROM (
        SELECT
          "t0"."customer_id",
          "t0"."event"
        FROM "events" AS "t0"
        WHERE
          "t0"."event" IN ('Contact Deleted', 'Message Sent')
          AND "t0"."customer_id" IS NOT NULL
          AND "t0"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
          AND "t0"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
      ) AS "t10"
      LEFT OUTER JOIN (
        SELECT
          *
        FROM "customer_map" AS "t1"
      ) AS "t7"
        ON "t10"."customer_id" = "t7"."customer_id"
    ) AS "t12"
  ) AS "t16"
  INNER JOIN (
    SELECT
      "t13"."customer_id",
      "t13"."owner_id",
      "t13"."first_seen_at"
    FROM (
      SELECT
        "t11"."customer_id",
        "t11"."first_seen_at",
        "t11"."created_at",
        "t11"."owner_id",
        "t11"."store_id",
        COALESCE("t11"."first_touchpoint", 'none') AS "touchpoint",
        CASE
          WHEN "t11"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t9"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t11"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t9"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t2"
        WHERE
          "t2"."merged_into_id" IS NULL
      ) AS "t11"
      LEFT OUTER JOIN (
        SELECT
          *
        FROM "touchpoints" AS "t3"
      ) AS "t9"
        ON "t11"."first_touchpoint" = "t9"."code"
    ) AS "t13"
    WHERE
      "t13"."owner_id" IS NOT NULL
  ) AS "t17"
    ON "t16"."customer_id" = "t17"."customer_id"
) AS "t18"
GROUP BY
  1

-- sales
SELECT
  "t21"."owner_id",
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
    "t15"."owner_id",
    "t15"."first_seen_at"
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
      "t12"."customer_id",
      "t12"."owner_id",
      "t12"."first_seen_at"
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
    WHERE
      "t12"."owner_id" IS NOT NULL
  ) AS "t15"
    ON "t20"."customer_id" = "t15"."customer_id"
) AS "t21"
GROUP BY
  1

-- tasks
WITH "t20" AS (
  SELECT
    "t19"."customer_id",
    "t19"."event",
    "t19"."timestamp",
    "t19"."task_id",
    "t19"."guide_id"
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
          COALESCE("t14"."canonical_id", "t14"."customer_id") AS "customer_id",
          "t14"."event",
          "t14"."timestamp",
          "t14"."task_id",
          "t14"."guide_id",
          "t14"."customer_id_right",
          "t14"."canonical_id"
        FROM (
          SELECT
            "t11"."customer_id",
            "t11"."event",
            "t11"."timestamp",
            "t11"."task_id",
            "t11"."guide_id",
            "t8"."customer_id" AS "customer_id_right",
            "t8"."canonical_id"
          FROM (
            SELECT
              "t1"."customer_id",
              "t1"."event",
              "t1"."timestamp",
              CAST(NULLIF(REGEXP_EXTRACT("t1"."properties", '"task_id":\s*(\d+)', 1), '') AS BIGINT) AS "task_id",
              CAST(NULLIF(REGEXP_EXTRACT("t1"."properties", '"guide_id":\s*(\d+)', 1), '') AS BIGINT) AS "guide_id"
            FROM "events" AS "t1"
            WHERE
              "t1"."event" IN ('Task Assigned', 'Task Completed')
              AND "t1"."customer_id" IS NOT NULL
              AND "t1"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t11"
          LEFT OUTER JOIN (
            SELECT
              *
            FROM "customer_map" AS "t3"
          ) AS "t8"
            ON "t11"."customer_id" = "t8"."customer_id"
        ) AS "t14"
      ) AS "t16"
    ) AS "t17"
  ) AS "t19"
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
        FROM "touchpoints" AS "t2"
      ) AS "t7"
        ON "t9"."first_touchpoint" = "t7"."code"
    ) AS "t12"
  ) AS "t15"
    ON "t19"."customer_id" = "t15"."customer_id"
)
SELECT
  "t26"."owner_id",
  COUNT(*) AS "tasks_assigned",
  SUM(CAST("t26"."executed" IS NOT NULL AS INT)) AS "tasks_executed"
FROM (
  SELECT
    "t25"."customer_id",
    "t25"."task_id",
    "t25"."owner_id",
    "t24"."customer_id" AS "customer_id_right",
    "t24"."task_id" AS "task_id_right",
    "t24"."executed"
  FROM (
    SELECT
      "t21"."customer_id",
      "t21"."task_id",
      "t21"."guide_id" AS "owner_id"
    FROM "t20" AS "t21"
    WHERE
      "t21"."event" = 'Task Assigned'
      AND "t21"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
  ) AS "t25"
  LEFT OUTER JOIN (
    SELECT DISTINCT
      "t21"."customer_id",
      "t21"."task_id",
      1 AS "executed"
    FROM "t20" AS "t21"
    WHERE
      "t21"."event" = 'Task Completed'
  ) AS "t24"
    ON "t25"."customer_id" = "t24"."customer_id" AND "t25"."task_id" = "t24"."task_id"
) AS "t26"
GROUP BY
  1
