-- Which enquiries were planned together: when enquiries queue up, a run of
-- them is planned in one solve (ILEAPS_PLAN_BATCH), and a plan depends on
-- how they were grouped. `planned_with` is the id of the first enquiry of
-- the solve that planned this one (its own id when it was planned alone), so
-- replaying the same events in the same groups reproduces the plan. NULL for
-- enquiries planned before it was recorded.
ALTER TABLE scheduling.enquiries ADD COLUMN planned_with text;
