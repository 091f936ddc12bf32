-- A store's own policies (dashboard settings page). NULL means "the platform's setting"
-- (POINTMINT_REQUIRED_CONFIRMATIONS, POINTMINT_BATCH_WINDOW), so changing the platform
-- default still reaches every store that never chose its own.
ALTER TABLE stores ADD COLUMN required_confirmations BIGINT
    CHECK (required_confirmations IS NULL OR required_confirmations BETWEEN 1 AND 1000);
ALTER TABLE stores ADD COLUMN batch_window_ms BIGINT
    CHECK (batch_window_ms IS NULL OR batch_window_ms BETWEEN 0 AND 60000);
-- Points per currency unit, in thousandths (1000 = one point per unit): an exact decimal
-- with up to three places, no floating point.
ALTER TABLE stores ADD COLUMN earn_rate_milli BIGINT NOT NULL DEFAULT 1000
    CHECK (earn_rate_milli BETWEEN 1 AND 1000000000);
