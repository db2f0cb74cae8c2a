-- Cheaper bookkeeping per message, measured on `ileaps bench` (see
-- docs/performance.md). Every row written here is written once per event, so
-- each index and each conversion counts.

-- 1. Published events move to a history table instead of being updated in
-- place. Updating `published_at` could never be a HOT update (the column is
-- in two indexes), so each one wrote a new tuple into every index of the
-- table. Now the relay deletes the row from `outbox` and inserts it into
-- `outbox_published` in the same transaction: `outbox` holds only pending
-- rows and stays a few pages long, and the history is append-only.
--
-- 2. Headers are stored as NATS writes them, `name: value` lines, instead of
-- jsonb: the relay no longer parses JSON for every row it publishes, nor
-- Postgres for every row it stores.
--
-- 3. `outbox.id` loses its UNIQUE index. ce-ids are fresh UUIDv7s, never
-- derived from input, and a repeated Nats-Msg-Id would be dropped by
-- JetStream and by every consumer's inbox anyway.
--
-- 4. The inbox compares its key bytewise (COLLATE "C"): only equality is
-- ever asked of it, and a linguistic collation costs a strcoll() per
-- comparison. Its age index, used only to prune, becomes a BRIN index,
-- nearly free to maintain because rows arrive in time order.

-- Replaced below; the name `outbox_published_at` moves to the history.
DROP INDEX outbox_pending;
DROP INDEX outbox_published_at;

CREATE TABLE outbox_published (
    seq          bigint      PRIMARY KEY,
    id           text        NOT NULL,
    subject      text        NOT NULL,
    headers      bytea       NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz NOT NULL
);

-- Pruning by age and `outbox replay --since` by creation time; both columns
-- grow with the table's physical order.
CREATE INDEX outbox_published_at ON outbox_published USING brin (published_at);
CREATE INDEX outbox_published_created_at ON outbox_published USING brin (created_at);

-- Headers as lines, in their stored order, while `headers` is still jsonb.
ALTER TABLE outbox ADD COLUMN header_lines bytea;
UPDATE outbox SET header_lines = (
    SELECT convert_to(
        coalesce(string_agg((pair ->> 0) || ': ' || (pair ->> 1) || E'\r\n', '' ORDER BY n), ''),
        'UTF8')
    FROM jsonb_array_elements(outbox.headers) WITH ORDINALITY AS h(pair, n)
);

INSERT INTO outbox_published (seq, id, subject, headers, body, created_at, published_at)
SELECT seq, id, subject, header_lines, body, created_at, published_at
FROM outbox
WHERE published_at IS NOT NULL;

DELETE FROM outbox WHERE published_at IS NOT NULL;

ALTER TABLE outbox DROP CONSTRAINT outbox_id_key;
ALTER TABLE outbox DROP COLUMN published_at;
ALTER TABLE outbox DROP COLUMN headers;
ALTER TABLE outbox RENAME COLUMN header_lines TO headers;
ALTER TABLE outbox ALTER COLUMN headers SET NOT NULL;

ALTER TABLE inbox
    ALTER COLUMN consumer TYPE text COLLATE "C",
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN id TYPE text COLLATE "C";

DROP INDEX inbox_processed_at;
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);
