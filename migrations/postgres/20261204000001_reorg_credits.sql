-- Reorganisations of deposits and of point-system issues.

-- Points a reorganised deposit took back out of `available` (at most what was still
-- there: the customer may have spent some); given back when the deposit confirms again.
ALTER TABLE operations ADD COLUMN reorg_held BIGINT CHECK (reorg_held IS NULL OR reorg_held >= 0);

-- When the issued supply was first credited to the treasury: a confirmation after a
-- reorganisation restores the confirmed balance without crediting it twice.
ALTER TABLE point_systems ADD COLUMN issue_credited_at BIGINT;
UPDATE point_systems SET issue_credited_at = created_at WHERE status = 'confirmed';
