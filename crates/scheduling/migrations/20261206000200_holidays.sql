-- Public holidays per country (DOMAIN.md, scheduling rule 8): operator data,
-- imported from iCalendar files with `holidays.import`, which replaces a
-- country's holidays for the years a file covers. The planner reads the days
-- of the countries concerned around a window: the primary key answers that.
CREATE TABLE scheduling.holidays (
    -- ISO 3166-1 alpha-2 (the import checks it against the standard's list).
    country     text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    day         date        NOT NULL,
    -- The file's SUMMARY; several holidays on one day are joined by "; ".
    name        text        NOT NULL,
    -- The imported file's name, and when: what an operator asks first when a
    -- date looks wrong.
    source      text        NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (country, day)
);
