-- customers
SELECT
  "t6"."owner_id",
  COUNT(*) AS "customers",
  SUM(
    CAST((
      "t6"."first_seen_at" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
    )
    AND (
      "t6"."first_seen_at" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
    ) AS INT)
  ) AS "new_customers"
FROM (
  SELECT
    "t5"."customer_id",
    "t5"."owner_id",
    "t5"."first_seen_at"
  FROM (
    SELECT
      "t4"."customer_id",
      "t4"."first_seen_at",
      "t4"."created_at",
      "t4"."owner_id",
      "t4"."store_id",
      COALESCE("t4"."first_touchpoint", 'none') AS "touchpoint",
      CASE
        WHEN "t4"."first_touchpoint" IS NULL
        THEN 'none'
        ELSE COALESCE("t2"."group", 'other')
      END AS "touchpoint_type",
      CASE
        WHEN "t4"."first_touchpoint" IS NULL
        THEN 'none'
        ELSE COALESCE("t2"."entry_type", 'owned')
      END AS "entry_type"
    FROM (
      SELECT
        *
      FROM "customers" AS "t0"
      WHERE
        "t0"."merged_into_id" IS NULL
    ) AS "t4"
    LEFT OUTER JOIN "touchpoints" AS "t2"
      ON "t4"."first_touchpoint" = "t2"."code"
  ) AS "t5"
  WHERE
    "t5"."owner_id" IS NOT NULL
) AS "t6"
GROUP BY
  1

-- acts
SELECT
  "t17"."owner_id",
  COUNT(DISTINCT "t17"."customer_id") FILTER(WHERE
    "t17"."event" = 'Contact Deleted') AS "lost_customers",
  SUM(CAST("t17"."event" = 'Message Sent' AS INT)) AS "messages"
FROM (
  SELECT
    "t16"."customer_id",
    "t16"."event",
    "t13"."owner_id",
    "t13"."first_seen_at"
  FROM (
    SELECT
      COALESCE("t14"."canonical_id", "t14"."customer_id") AS "customer_id",
      "t14"."event"
    FROM (
      SELECT
        "t11"."customer_id",
        "t11"."event",
        "t4"."customer_id" AS "customer_id_right",
        "t4"."canonical_id"
      FROM (
        SELECT
          "t8"."customer_id",
          "t8"."event"
        FROM (
          SELECT
            *
          FROM "events" AS "t1"
          WHERE
            "t1"."event" IN ('Contact Deleted', 'Message Sent')
            AND "t1"."customer_id" IS NOT NULL
            AND "t1"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
            AND "t1"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
            AND (
              (
                "t1"."event" <> 'Message Sent'
              )
              OR (
                (
                  "t1"."properties" ->> '$.origin'
                ) IS NULL
              )
              OR (
                (
                  "t1"."properties" ->> '$.channel'
                ) = 'wecom'
              )
            )
        ) AS "t8"
      ) AS "t11"
      LEFT OUTER JOIN "customer_map" AS "t4"
        ON "t11"."customer_id" = "t4"."customer_id"
    ) AS "t14"
  ) AS "t16"
  INNER JOIN (
    SELECT
      "t10"."customer_id",
      "t10"."owner_id",
      "t10"."first_seen_at"
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
          ELSE COALESCE("t5"."group", 'other')
        END AS "touchpoint_type",
        CASE
          WHEN "t7"."first_touchpoint" IS NULL
          THEN 'none'
          ELSE COALESCE("t5"."entry_type", 'owned')
        END AS "entry_type"
      FROM (
        SELECT
          *
        FROM "customers" AS "t2"
        WHERE
          "t2"."merged_into_id" IS NULL
      ) AS "t7"
      LEFT OUTER JOIN "touchpoints" AS "t5"
        ON "t7"."first_touchpoint" = "t5"."code"
    ) AS "t10"
    WHERE
      "t10"."owner_id" IS NOT NULL
  ) AS "t13"
    ON "t16"."customer_id" = "t13"."customer_id"
) AS "t17"
GROUP BY
  1

-- sales
SELECT
  "t19"."owner_id",
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
    "t13"."owner_id",
    "t13"."first_seen_at"
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
      "t10"."customer_id",
      "t10"."owner_id",
      "t10"."first_seen_at"
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
    WHERE
      "t10"."owner_id" IS NOT NULL
  ) AS "t13"
    ON "t18"."customer_id" = "t13"."customer_id"
) AS "t19"
GROUP BY
  1

-- tasks
WITH "t18" AS (
  SELECT
    "t17"."customer_id",
    "t17"."event",
    "t17"."timestamp",
    "t17"."task_id",
    "t17"."guide_id"
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
          COALESCE("t12"."canonical_id", "t12"."customer_id") AS "customer_id",
          "t12"."event",
          "t12"."timestamp",
          "t12"."task_id",
          "t12"."guide_id",
          "t12"."customer_id_right",
          "t12"."canonical_id"
        FROM (
          SELECT
            "t9"."customer_id",
            "t9"."event",
            "t9"."timestamp",
            "t9"."task_id",
            "t9"."guide_id",
            "t5"."customer_id" AS "customer_id_right",
            "t5"."canonical_id"
          FROM (
            SELECT
              "t2"."customer_id",
              "t2"."event",
              "t2"."timestamp",
              CAST(NULLIF(REGEXP_EXTRACT("t2"."properties", '"task_id":\s*(\d+)', 1), '') AS BIGINT) AS "task_id",
              CAST(NULLIF(REGEXP_EXTRACT("t2"."properties", '"guide_id":\s*(\d+)', 1), '') AS BIGINT) AS "guide_id"
            FROM "events" AS "t2"
            WHERE
              "t2"."event" IN ('Task Assigned', 'Task Completed')
              AND "t2"."customer_id" IS NOT NULL
              AND "t2"."timestamp" < MAKE_TIMESTAMPTZ(2026, 11, 30, 16, 0, 0.0, 'UTC')
          ) AS "t9"
          LEFT OUTER JOIN "customer_map" AS "t5"
            ON "t9"."customer_id" = "t5"."customer_id"
        ) AS "t12"
      ) AS "t14"
    ) AS "t15"
  ) AS "t17"
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
    ON "t17"."customer_id" = "t13"."customer_id"
)
SELECT
  "t24"."owner_id",
  COUNT(*) AS "tasks_assigned",
  SUM(CAST("t24"."executed" IS NOT NULL AS INT)) AS "tasks_executed"
FROM (
  SELECT
    "t23"."customer_id",
    "t23"."task_id",
    "t23"."owner_id",
    "t22"."customer_id" AS "customer_id_right",
    "t22"."task_id" AS "task_id_right",
    "t22"."executed"
  FROM (
    SELECT
      "t19"."customer_id",
      "t19"."task_id",
      "t19"."guide_id" AS "owner_id"
    FROM "t18" AS "t19"
    WHERE
      "t19"."event" = 'Task Assigned'
      AND "t19"."timestamp" >= MAKE_TIMESTAMPTZ(2026, 10, 31, 16, 0, 0.0, 'UTC')
  ) AS "t23"
  LEFT OUTER JOIN (
    SELECT DISTINCT
      "t19"."customer_id",
      "t19"."task_id",
      1 AS "executed"
    FROM "t18" AS "t19"
    WHERE
      "t19"."event" = 'Task Completed'
  ) AS "t22"
    ON "t23"."customer_id" = "t22"."customer_id" AND "t23"."task_id" = "t22"."task_id"
) AS "t24"
GROUP BY
  1
