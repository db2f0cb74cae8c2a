-- Scheduling's read model of assignment's roster and live holds, from
-- ileaps.internal.roster.* (consumer scheduling-roster): what the planner
-- knows of who can staff a date. Assignment stays the authority; these are
-- copies, each replaced whole by a message with a higher revision.

-- One expert's planning profile (no personal data arrives here).
CREATE TABLE scheduling.roster_experts (
    id            text        PRIMARY KEY,
    display_name  text        NOT NULL,
    -- Contract topic names (URBAN_PLANNING, ...).
    topics        text[]      NOT NULL,
    -- BCP 47 tags, the preferred one first.
    languages     text[]      NOT NULL,
    -- IANA name; unavailable days are days in this zone.
    time_zone     text        NOT NULL,
    monthly_limit integer     NOT NULL CHECK (monthly_limit >= 0),
    active        boolean     NOT NULL,
    -- The profile's revision: a message at or below it is stale.
    revision      integer     NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Whole days (inclusive, in the expert's zone) an expert cannot work,
-- replaced with each newer profile.
CREATE TABLE scheduling.roster_unavailable (
    expert_id text NOT NULL REFERENCES scheduling.roster_experts (id) ON DELETE CASCADE,
    first_day date NOT NULL,
    last_day  date NOT NULL,
    CHECK (last_day >= first_day)
);

CREATE INDEX roster_unavailable_by_expert ON scheduling.roster_unavailable (expert_id);

-- Per workshop, the revision of the last holds message applied.
CREATE TABLE scheduling.roster_workshops (
    workshop_id      text        PRIMARY KEY,
    workshop_version integer     NOT NULL,
    revision         integer     NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The live holds, as assignment committed them: the held period (travel
-- days included, half-open) and the month it counts against.
CREATE TABLE scheduling.roster_holds (
    workshop_id text      NOT NULL REFERENCES scheduling.roster_workshops (workshop_id)
                                   ON DELETE CASCADE,
    expert_id   text      NOT NULL,
    role        text      NOT NULL CHECK (role IN ('LEAD', 'SUPPORT')),
    period      tstzrange NOT NULL,
    month       date      NOT NULL CHECK (extract(day FROM month) = 1),
    PRIMARY KEY (workshop_id, expert_id)
);

-- The planner reads the holds overlapping a range, and those of its months.
CREATE INDEX roster_holds_period ON scheduling.roster_holds USING gist (period);
CREATE INDEX roster_holds_month ON scheduling.roster_holds (month);
