-- How each enquiry was planned: by the optimiser, or first-fit (no roster
-- known yet, or the optimiser failed, with why). A first-fit plan after a
-- failure is a planner bug an operator should hear of: `planning.stats`
-- counts them, and the planning bench fails on any. NULL for enquiries
-- planned before this was recorded, and for redeliveries (never planned).
ALTER TABLE scheduling.enquiries
    ADD COLUMN planned_by text
        CHECK (planned_by IN ('OPTIMISER', 'FIRST_FIT_NO_ROSTER', 'FIRST_FIT_AFTER_FAILURE')),
    ADD COLUMN planning_failure text;
