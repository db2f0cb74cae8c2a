-- The messaging tables every service keeps in its own schema. These statements
-- are unqualified on purpose: `messaging::migrate` runs them with the search
-- path set to the service's schema.

-- Events written in the same transaction as the state change they announce,
-- published by the relay. Published rows are kept for a retention period so
-- `ileaps outbox replay --since` can re-send them after a broker lost data.
CREATE TABLE outbox (
    seq          bigserial   PRIMARY KEY,
    -- The ce-id, also the Nats-Msg-Id JetStream deduplicates on.
    id           text        NOT NULL UNIQUE,
    subject      text        NOT NULL,
    -- Every NATS header, as [[name, value], ...], trace context included:
    -- captured when the row is written, not when it is relayed.
    headers      jsonb       NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- The relay's work list stays small however long the history grows.
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- What each consumer has already processed: a redelivery finds its row and is
-- acknowledged without effect.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    source       text        NOT NULL,
    id           text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source, id)
);

CREATE INDEX inbox_processed_at ON inbox (processed_at);
