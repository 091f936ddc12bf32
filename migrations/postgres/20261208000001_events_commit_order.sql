-- The webhook fan-out reads the event log in the order events become final.
--
-- Event ids come from an identity, handed out when a row is inserted, not when its
-- transaction commits. With two writers at once (the worker's sending loop marks
-- transactions broadcast while its chain-following loop confirms others), a higher id can
-- commit before a lower one; a reader that moves a cursor past every id it has seen skips
-- the lower one for good, and its webhooks are never sent. The writing transaction's id
-- gives an order in which nothing can appear behind the reader: every transaction below the
-- oldest one still running has ended. SQLite needs none of this: its writers take turns,
-- so ids commit in order.
ALTER TABLE events ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_xact ON events (xact_id, id);
ALTER TABLE webhook_fanout ADD COLUMN last_xact_id xid8 NOT NULL DEFAULT '0';
-- Every event written so far carries this migration's transaction id: the fan-out goes on
-- among them from the id it had reached.
UPDATE webhook_fanout SET last_xact_id = pg_current_xact_id();
