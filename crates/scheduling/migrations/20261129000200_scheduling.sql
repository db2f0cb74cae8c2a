-- Scheduling's own tables, in schema `scheduling` (created by
-- messaging::migrate, which also adds scheduling.outbox and scheduling.inbox).
--
-- Enums are stored by their contract names (`JOINT_WORKSHOP`, `IN_PERSON`,
-- `SOCIAL_INNOVATION`, ...), so a row reads the same as an event.

-- Planned workshops and missions, every version's current state.
CREATE TABLE scheduling.workshops (
    -- UUIDv5 of the enquiry that created it: the same events give the same ids.
    id              uuid        PRIMARY KEY,
    -- Starts at 1; every change of cities or dates is a new version.
    version         integer     NOT NULL CHECK (version >= 1),
    kind            text        NOT NULL,
    primary_topic   text        NOT NULL,
    topics          text[]      NOT NULL,
    -- As chosen: never EITHER.
    format          text        NOT NULL CHECK (format IN ('IN_PERSON', 'VIRTUAL')),
    -- The host city's code; NULL when virtual.
    host_city       text,
    time_zone       text        NOT NULL,
    -- The sessions in order, in UTC (`end` exclusive), one element each.
    session_starts  timestamptz[] NOT NULL,
    session_ends    timestamptz[] NOT NULL
        CHECK (cardinality(session_starts) = cardinality(session_ends) AND cardinality(session_starts) >= 1),
    -- The programme days (Seoul dates) it occupies, first to last session,
    -- days between included: what rules 4 and 5 count. Derived from the
    -- sessions, kept as a range so overlap questions are answered by an index.
    span            daterange   NOT NULL CHECK (NOT isempty(span)),
    languages       text[]      NOT NULL,
    -- PLANNED (active), CANCELLED or UNSCHEDULABLE (no expert after retries).
    status          text        NOT NULL DEFAULT 'PLANNED'
        CHECK (status IN ('PLANNED', 'CANCELLED', 'UNSCHEDULABLE')),
    status_reason   text,
    -- The version assignment staffed (assignment.made); NULL until then.
    staffed_version integer,
    -- Later dates tried after assignment.unfilled (rule 6).
    reschedules     integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Rules 4 and 5 and joining only ever look at active workshops whose span
-- meets a window: one GiST index on the span of the active ones answers
-- "what overlaps these days" without scanning the history.
CREATE INDEX workshops_active_span ON scheduling.workshops USING gist (span)
    WHERE status = 'PLANNED';
-- Joinable candidates: active joint workshops of one primary topic (combined
-- with the span index by a bitmap AND when both are selective).
CREATE INDEX workshops_joinable ON scheduling.workshops (kind, primary_topic)
    WHERE status = 'PLANNED';

-- The accepted enquiries scheduling has seen (its copy of enquiry.received),
-- with what became of each.
CREATE TABLE scheduling.enquiries (
    id            text        PRIMARY KEY,
    city          text        NOT NULL,
    reference     text        NOT NULL,
    kind          text        NOT NULL,
    topics        text[]      NOT NULL,
    window_start  date        NOT NULL,
    window_end    date        NOT NULL,
    participants  integer     NOT NULL CHECK (participants >= 0),
    languages     text[]      NOT NULL,
    format        text        NOT NULL,
    time_zone     text        NOT NULL,
    priority      boolean     NOT NULL,
    received_at   timestamptz NOT NULL,
    -- RECEIVED (being planned), SCHEDULED (attends workshop_id),
    -- UNSCHEDULABLE (status_code says why) or WITHDRAWN.
    status        text        NOT NULL DEFAULT 'RECEIVED'
        CHECK (status IN ('RECEIVED', 'SCHEDULED', 'UNSCHEDULABLE', 'WITHDRAWN')),
    status_code   text,
    status_detail text,
    workshop_id   uuid        REFERENCES scheduling.workshops (id),
    -- The workshop version at which it joined: attendees are listed in the
    -- order they came, so events and languages are the same on every replay.
    joined_version integer,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A workshop's attendees.
CREATE INDEX enquiries_by_workshop ON scheduling.enquiries (workshop_id, joined_version, id)
    WHERE workshop_id IS NOT NULL;
-- A city's engagements (rule 4).
CREATE INDEX enquiries_scheduled_by_city ON scheduling.enquiries (city, workshop_id)
    WHERE status = 'SCHEDULED';
