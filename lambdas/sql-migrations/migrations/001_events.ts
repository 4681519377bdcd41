/**
 * Migration 001: the stored events (seed 002's `ecommerce_events`, columns of event schema v3 and
 * its enrichment, contract §2) and the per-batch `data_quality_metrics`. The CHECK constraints
 * restate the event rules (lambdas/shared/events), so the database refuses what the validator
 * would; they never refuse a valid event (lengths are left to the validator).
 */
export const sql = `
CREATE TABLE ecommerce_events (
  event_id text PRIMARY KEY
    CHECK (event_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  event_type text NOT NULL
    CHECK (event_type IN ('page_view', 'search', 'add_to_cart', 'remove_from_cart', 'wishlist', 'purchase')),
  event_time timestamptz NOT NULL,
  user_id text CHECK (user_id <> ''),
  product_id text CHECK (product_id <> ''),
  price numeric(11, 4) CHECK (price BETWEEN 0 AND 1000000),
  currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
  session_id text CHECK (session_id <> ''),
  category text,
  quantity integer CHECK (quantity BETWEEN 1 AND 1000),
  user_segment text CHECK (user_segment IN ('new', 'returning', 'premium', 'inactive', 'at_risk')),
  device_type text,
  browser text,
  geo_country char(2) CHECK (geo_country ~ '^[A-Z]{2}$'),
  geo_city text,
  referrer text,
  campaign_id text,
  search_query text CHECK (search_query <> ''),
  schema_version smallint NOT NULL CHECK (schema_version = 3),
  original_schema_version smallint NOT NULL CHECK (original_schema_version IN (1, 2, 3)),
  received_at timestamptz NOT NULL,
  processed_at timestamptz NOT NULL,
  total_amount numeric(12, 2) CHECK (total_amount >= 0),
  late_arrival boolean NOT NULL,
  event_date date NOT NULL,
  event_hour smallint NOT NULL CHECK (event_hour BETWEEN 0 AND 23),
  -- Bookkeeping: the processed-stream record that stored the event (<shardId>/<sequenceNumber>),
  -- when, and in which transaction (tells this write's rows from earlier ones).
  stored_source text NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  stored_txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT anonymous_only_browsing CHECK (user_id IS NOT NULL OR event_type IN ('page_view', 'search')),
  CONSTRAINT product_required CHECK (product_id IS NOT NULL OR event_type IN ('page_view', 'search')),
  CONSTRAINT price_required CHECK (price IS NOT NULL OR event_type NOT IN ('add_to_cart', 'purchase')),
  CONSTRAINT purchase_price_positive CHECK (event_type <> 'purchase' OR price > 0),
  CONSTRAINT quantity_required CHECK (quantity IS NOT NULL OR event_type NOT IN ('add_to_cart', 'remove_from_cart', 'purchase')),
  CONSTRAINT currency_with_price CHECK (price IS NULL OR currency IS NOT NULL),
  CONSTRAINT total_with_price CHECK ((price IS NULL) = (total_amount IS NULL)),
  CONSTRAINT event_date_of_time CHECK (event_date = (event_time AT TIME ZONE 'UTC')::date),
  CONSTRAINT event_hour_of_time CHECK (event_hour = extract(hour FROM event_time AT TIME ZONE 'UTC'))
);
CREATE INDEX ecommerce_events_event_time ON ecommerce_events (event_time);
CREATE INDEX ecommerce_events_user ON ecommerce_events (user_id, event_time) WHERE user_id IS NOT NULL;

-- One row per SqlSink batch, keyed by its shard and first sequence number, so a retried
-- invocation of the same batch adds nothing. invalid_by_code counts the processed-stream records
-- that were not stored events, by error code (first-pass validation errors are the validator's
-- ValidationErrors metric).
CREATE TABLE data_quality_metrics (
  shard_id text NOT NULL,
  first_sequence_number text NOT NULL,
  last_sequence_number text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  records integer NOT NULL CHECK (records >= 0),
  valid_records integer NOT NULL CHECK (valid_records >= 0),
  invalid_records integer NOT NULL CHECK (invalid_records >= 0),
  invalid_by_code jsonb NOT NULL DEFAULT '{}'::jsonb,
  stored integer NOT NULL CHECK (stored >= 0),
  duplicates integer NOT NULL CHECK (duplicates >= 0),
  lag_avg_seconds numeric(12, 3),
  lag_max_seconds numeric(12, 3),
  PRIMARY KEY (shard_id, first_sequence_number),
  CHECK (valid_records + invalid_records = records)
);
CREATE INDEX data_quality_metrics_recorded_at ON data_quality_metrics (recorded_at);
`;
