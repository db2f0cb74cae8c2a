-- What scheduling's read model of the roster and the holds is ordered by
-- (ileaps.internal.roster.*): each message carries a revision that only grows,
-- so a reader keeps the newest and ignores stale or republished copies.

-- Bumped with every change of the expert's entry (an import that changes
-- them, an operator's unavailable period); published as the profile's revision.
ALTER TABLE assignment.experts
    ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1);

-- Bumped with every holds message of the workshop. Zero: none was ever sent.
-- The workshop version cannot order them: a cancellation may carry the
-- version it cancels, the same as the staffing before it.
ALTER TABLE assignment.workshops
    ADD COLUMN holds_revision integer NOT NULL DEFAULT 0 CHECK (holds_revision >= 0);
