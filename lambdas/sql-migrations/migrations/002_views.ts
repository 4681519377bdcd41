/**
 * Migration 002: seed 002's four views over the stored events and the batch metrics. Revenue is
 * always per currency (`currency` beside `revenue`): amounts in different currencies are never
 * added together (as in lambdas/shared/aggregates.ts). Hours are UTC.
 */
export const sql = `
-- Per UTC hour and event type: volume, reach, lateness.
CREATE VIEW v_hourly_event_summary AS
SELECT
  date_trunc('hour', event_time AT TIME ZONE 'UTC') AS hour,
  event_type,
  count(*) AS events,
  count(DISTINCT user_id) AS unique_users,
  count(DISTINCT session_id) AS unique_sessions,
  count(*) FILTER (WHERE user_id IS NULL) AS anonymous_events,
  count(*) FILTER (WHERE late_arrival) AS late_arrivals
FROM ecommerce_events
GROUP BY 1, 2;

-- Per category (no category: '(none)'): the funnel counts of the category on every row, and
-- purchases, units and revenue per currency (one row per currency bought in; a category
-- without purchases has one row with currency NULL).
CREATE VIEW v_category_performance AS
WITH funnel AS (
  SELECT
    coalesce(category, '(none)') AS category,
    count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
    count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts,
    count(*) FILTER (WHERE event_type = 'purchase') AS purchases
  FROM ecommerce_events
  GROUP BY 1
), sales AS (
  SELECT
    coalesce(category, '(none)') AS category,
    currency,
    count(*) AS purchases,
    sum(quantity) AS units_sold,
    sum(total_amount) AS revenue
  FROM ecommerce_events
  WHERE event_type = 'purchase'
  GROUP BY 1, 2
)
SELECT
  f.category,
  f.page_views,
  f.add_to_carts,
  f.purchases AS purchases_total,
  round(100.0 * f.purchases / nullif(f.page_views, 0), 2) AS view_to_purchase_pct,
  s.currency,
  coalesce(s.purchases, 0) AS purchases,
  coalesce(s.units_sold, 0) AS units_sold,
  coalesce(s.revenue, 0) AS revenue,
  round(s.revenue / nullif(s.purchases, 0), 2) AS avg_order_value
FROM funnel f
LEFT JOIN sales s USING (category);

-- Per user segment (none given: 'unknown'): users, sessions, events and purchasing users of the
-- segment on every row, and revenue per currency (one row per currency).
CREATE VIEW v_user_segment_analysis AS
WITH segment AS (
  SELECT
    coalesce(user_segment, 'unknown') AS user_segment,
    count(DISTINCT user_id) AS users,
    count(DISTINCT session_id) AS sessions,
    count(*) AS events,
    count(*) FILTER (WHERE event_type = 'purchase') AS purchases_total,
    count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS purchasing_users
  FROM ecommerce_events
  GROUP BY 1
), sales AS (
  SELECT
    coalesce(user_segment, 'unknown') AS user_segment,
    currency,
    count(*) AS purchases,
    count(DISTINCT user_id) AS purchasing_users,
    sum(total_amount) AS revenue
  FROM ecommerce_events
  WHERE event_type = 'purchase'
  GROUP BY 1, 2
)
SELECT
  g.user_segment,
  g.users,
  g.sessions,
  g.events,
  round(g.events::numeric / nullif(g.sessions, 0), 2) AS events_per_session,
  g.purchases_total,
  round(100.0 * g.purchasing_users / nullif(g.users, 0), 2) AS purchasing_users_pct,
  s.currency,
  coalesce(s.purchases, 0) AS purchases,
  coalesce(s.revenue, 0) AS revenue,
  round(s.revenue / nullif(s.purchasing_users, 0), 2) AS revenue_per_purchasing_user
FROM segment g
LEFT JOIN sales s USING (user_segment);

-- Per UTC hour the batches were recorded: records, validity, what was stored, lag.
CREATE VIEW v_data_quality_dashboard AS
WITH hourly AS (
  SELECT
    date_trunc('hour', recorded_at AT TIME ZONE 'UTC') AS hour,
    count(*) AS batches,
    sum(records) AS records,
    sum(valid_records) AS valid_records,
    sum(invalid_records) AS invalid_records,
    sum(stored) AS stored,
    sum(duplicates) AS duplicates,
    round(sum(lag_avg_seconds * stored) / nullif(sum(stored) FILTER (WHERE lag_avg_seconds IS NOT NULL), 0), 3) AS lag_avg_seconds,
    max(lag_max_seconds) AS lag_max_seconds
  FROM data_quality_metrics
  GROUP BY 1
), codes AS (
  SELECT hour, jsonb_object_agg(code, n ORDER BY code) AS invalid_by_code
  FROM (
    SELECT date_trunc('hour', m.recorded_at AT TIME ZONE 'UTC') AS hour, c.key AS code, sum(c.value::bigint) AS n
    FROM data_quality_metrics m, jsonb_each_text(m.invalid_by_code) c
    GROUP BY 1, 2
  ) per_code
  GROUP BY hour
)
SELECT
  h.hour,
  h.batches,
  h.records,
  h.valid_records,
  h.invalid_records,
  round(100.0 * h.valid_records / nullif(h.records, 0), 2) AS valid_pct,
  coalesce(c.invalid_by_code, '{}'::jsonb) AS invalid_by_code,
  h.stored,
  h.duplicates,
  h.lag_avg_seconds,
  h.lag_max_seconds,
  CASE
    WHEN h.records = 0 THEN 'NO_DATA'
    WHEN 100.0 * h.valid_records / h.records >= 95 THEN 'HEALTHY'
    ELSE 'DEGRADED'
  END AS status
FROM hourly h
LEFT JOIN codes c USING (hour);
`;
