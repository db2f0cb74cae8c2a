-- Assignment's own tables, in schema `assignment` (created by messaging::migrate,
-- which also adds assignment.outbox and assignment.inbox).

-- The exclusion constraint below compares expert ids (=) and periods (&&) in one
-- GiST index; btree_gist gives text its GiST operator class.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The roster, managed by operators (`experts.import`). Experts are never
-- deleted: assignments keep pointing at them.
CREATE TABLE assignment.experts (
    id            text        PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{2,64}$'),
    display_name  text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    -- Personal data: leaves this schema only on ileaps.internal.expert.contact.
    email         text        NOT NULL,
    topics        text[]      NOT NULL,
    -- In the roster's order: the first is the one to write to the expert in.
    languages     text[]      NOT NULL CHECK (cardinality(languages) >= 1),
    -- IANA name; unavailable days are days in this zone.
    time_zone     text        NOT NULL,
    monthly_limit integer     NOT NULL CHECK (monthly_limit >= 0),
    -- Inactive experts stay for history but are never matched.
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Whole days (inclusive, in the expert's own zone) an expert cannot work.
-- Those from the roster file are replaced on every import; those an operator
-- added (`experts.unavailable`) stay.
CREATE TABLE assignment.unavailable (
    id         bigserial   PRIMARY KEY,
    expert_id  text        NOT NULL REFERENCES assignment.experts (id),
    first_day  date        NOT NULL,
    last_day   date        NOT NULL,
    reason     text        CHECK (length(reason) <= 200),
    source     text        NOT NULL CHECK (source IN ('ROSTER', 'OPERATOR')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (last_day >= first_day)
);

CREATE INDEX unavailable_by_expert ON assignment.unavailable (expert_id);

-- Assignment's copy of each workshop, as scheduling last described it: what a
-- `rescheduled` (which carries only sessions) is applied to. `version` is the
-- newest seen; anything at or below it is stale.
CREATE TABLE assignment.workshops (
    id             text        PRIMARY KEY,
    version        integer     NOT NULL CHECK (version >= 0),
    -- ACTIVE, or CANCELLED (a cancellation seen before any `scheduled` leaves
    -- a row with empty fields, so a late `scheduled` is judged stale).
    status         text        NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED')),
    kind           text        NOT NULL,
    format         text        NOT NULL,
    -- The primary topic first.
    topics         text[]      NOT NULL,
    languages      text[]      NOT NULL,
    cities         text[]      NOT NULL,
    participants   integer     NOT NULL CHECK (participants >= 0),
    session_starts timestamptz[] NOT NULL,
    session_ends   timestamptz[] NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(session_starts) = cardinality(session_ends))
);

-- Who holds which workshop, one row per (workshop, expert): a new version
-- updates the row (role, period, month), a release stamps `released_at`, and
-- a later re-assignment of the same expert clears it again.
CREATE TABLE assignment.assignments (
    workshop_id      text        NOT NULL REFERENCES assignment.workshops (id),
    expert_id        text        NOT NULL REFERENCES assignment.experts (id),
    role             text        NOT NULL CHECK (role IN ('LEAD', 'SUPPORT')),
    -- The workshop version this hold was last confirmed for.
    workshop_version integer     NOT NULL,
    -- The matcher's `period_of`: first session to last, plus a travel day on
    -- each side when in person. Half-open, as the matcher compares them.
    period           tstzrange   NOT NULL,
    -- The first day of the (UTC) month the hold counts against.
    month            date        NOT NULL CHECK (extract(day FROM month) = 1),
    assigned_at      timestamptz NOT NULL DEFAULT now(),
    released_at      timestamptz,
    PRIMARY KEY (workshop_id, expert_id),
    -- DOMAIN.md rule 3, enforced by the database itself so that replicas
    -- racing for one expert cannot both win: the loser's insert fails with
    -- SQLSTATE 23P01, its message is retried, and the matcher then sees the hold.
    CONSTRAINT assignments_no_double_booking
        EXCLUDE USING gist (expert_id WITH =, period WITH &&) WHERE (released_at IS NULL)
);

-- Staffing reads the holds overlapping a period and those of one month.
CREATE INDEX assignments_active_period ON assignment.assignments USING gist (period)
    WHERE released_at IS NULL;
CREATE INDEX assignments_active_month ON assignment.assignments (month)
    WHERE released_at IS NULL;

-- Continuity (DOMAIN.md rule 5): the cities each expert has been assigned to
-- work with. Kept when an assignment is later released: they have met.
CREATE TABLE assignment.worked_with (
    expert_id         text        NOT NULL REFERENCES assignment.experts (id),
    city              text        NOT NULL,
    first_workshop_id text        NOT NULL,
    since             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (expert_id, city)
);
