-- The country of each enquiry's city (ISO 3166-1 alpha-2), from
-- enquiry.received's `country`: whose public holidays its sessions avoid
-- (DOMAIN.md, scheduling rule 8). Enquiries recorded before the field existed
-- keep NULL, read as "no holidays of that city's country known".
ALTER TABLE scheduling.enquiries ADD COLUMN country text
    CHECK (country IS NULL OR country ~ '^[A-Z]{2}$');
