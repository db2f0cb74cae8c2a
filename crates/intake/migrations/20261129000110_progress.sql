-- What intake learns of an enquiry's progress from the programme's public
-- events (intake reads no other service's tables). `status`, `status_detail`
-- and `workshop_id` already exist; this adds the version of the workshop the
-- enquiry was last seen in, so stale events change nothing.
ALTER TABLE intake.enquiries ADD COLUMN workshop_version integer;

CREATE INDEX enquiries_by_workshop ON intake.enquiries (workshop_id)
    WHERE workshop_id IS NOT NULL;
