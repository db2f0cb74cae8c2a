-- Moves of a planned workshop made by re-planning (DOMAIN.md, "Re-planning
-- and its stability contract"): a workshop moves at most `max_moves` times
-- in its life. Counted apart from `reschedules`, the later dates tried after
-- `assignment.unfilled` (rule 6), which have their own limit.
ALTER TABLE scheduling.workshops
    ADD COLUMN moves integer NOT NULL DEFAULT 0 CHECK (moves >= 0);
