-- Intake's own tables, in schema `intake` (created by messaging::migrate,
-- which also adds intake.outbox and intake.inbox).

-- The city registry: who may send enquiries. Registered by operators.
CREATE TABLE intake.cities (
    code          text        PRIMARY KEY CHECK (code ~ '^[a-z0-9-]{2,32}$'),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- ISO 3166-1 alpha-2.
    country       text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    -- IANA name, checked against the time zone database on import.
    time_zone     text        NOT NULL,
    beneficiary   boolean     NOT NULL DEFAULT false,
    -- The host city (Seoul) receives no enquiries of its own.
    host          boolean     NOT NULL DEFAULT false,
    languages     text[]      NOT NULL DEFAULT '{}',
    contact_name  text,
    contact_email text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Accepted enquiries. (city, reference) is the natural key.
CREATE TABLE intake.enquiries (
    id            uuid        PRIMARY KEY,
    city          text        NOT NULL REFERENCES intake.cities (code),
    reference     text        NOT NULL,
    -- A hash of the submission's content: the same reference with another
    -- fingerprint is a REFERENCE_CONFLICT.
    fingerprint   text        NOT NULL,
    -- The submission as accepted (canonical JSON), contact included.
    submission    jsonb       NOT NULL,
    priority      boolean     NOT NULL,
    status        text        NOT NULL DEFAULT 'RECEIVED',
    status_detail text,
    workshop_id   text,
    inbound_id    text        NOT NULL,
    received_at   timestamptz NOT NULL,
    withdrawn_at  timestamptz,
    UNIQUE (city, reference)
);

-- Rejected messages, so a city asking about a reference it never got
-- accepted hears why.
CREATE TABLE intake.rejections (
    id          uuid        PRIMARY KEY,
    city        text,
    reference   text,
    inbound_id  text,
    reasons     jsonb       NOT NULL,
    rejected_at timestamptz NOT NULL
);

CREATE INDEX rejections_by_reference ON intake.rejections (city, reference, rejected_at DESC)
    WHERE city IS NOT NULL AND reference IS NOT NULL;
