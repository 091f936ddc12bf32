-- The dashboard's operations page (and its CSV export) lists a store's operations newest
-- first. Without this index the database read every operation of the point system and
-- sorted them: 260 ms for the first page at 62,000 operations (SQLite), growing with the
-- history; with it, under a millisecond.
CREATE INDEX operations_point_system_newest ON operations (point_system_id, id);
