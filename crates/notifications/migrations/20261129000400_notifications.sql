-- Notifications' own tables, in schema `notifications` (created by
-- messaging::migrate, which also adds notifications.outbox and .inbox).
-- Nothing here is read by another service.

-- Whom to write to about an enquiry (ileaps.internal.enquiry.contact). An
-- accepted enquiry's contact is found by its enquiry id, a rejection's by
-- the ce-id of the inbound message it answers.
CREATE TABLE notifications.contacts (
    id          bigserial PRIMARY KEY,
    enquiry_id  text UNIQUE,
    inbound_id  text UNIQUE,
    city        text NOT NULL,
    reference   text NOT NULL,
    name        text NOT NULL,
    email       text NOT NULL,
    phone       text,
    language    text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (enquiry_id IS NOT NULL OR inbound_id IS NOT NULL)
);

-- Experts' addresses (ileaps.internal.expert.contact).
CREATE TABLE notifications.experts (
    expert_id     text PRIMARY KEY,
    display_name  text NOT NULL,
    email         text NOT NULL,
    language      text NOT NULL,
    time_zone     text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Accepted enquiries (ileaps.events.enquiry.received): a workshop names
-- enquiries, a city reads its own reference and local time.
CREATE TABLE notifications.enquiries (
    enquiry_id  text PRIMARY KEY,
    city        text NOT NULL,
    reference   text NOT NULL,
    time_zone   text NOT NULL,
    withdrawn   boolean NOT NULL DEFAULT false
);

-- An enquiry-level notice whose email waits for the contact event, which
-- travels on another stream and may arrive later. Whichever of the two
-- arrives second creates the email (both take the same advisory lock).
CREATE TABLE notifications.awaiting_contact (
    cause_event_id  text PRIMARY KEY,
    contact_key     text NOT NULL,   -- 'enquiry:<id>' or 'inbound:<ce-id>'
    cause_type      text NOT NULL,
    cause_body      bytea NOT NULL,
    traceparent     text,
    tracestate      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX awaiting_contact_key ON notifications.awaiting_contact (contact_key);

-- Notifications' copy of each workshop: the latest version scheduling
-- announced, the experts assignment made for it, and what was last
-- confirmed (so a new version confirms again only when dates or people
-- changed, and a cancellation reaches those who were told it would happen).
CREATE TABLE notifications.workshops (
    workshop_id        text PRIMARY KEY,
    version            integer NOT NULL,
    cancelled          boolean NOT NULL DEFAULT false,
    kind               text NOT NULL,
    format             text NOT NULL,
    primary_topic      text NOT NULL,
    host_city          text,
    sessions           jsonb NOT NULL,   -- [{start, end}] UTC
    cities             jsonb NOT NULL,   -- [{city, enquiryId, participants}]
    experts            jsonb,            -- [{expertId, displayName, role}] of staffed_version
    staffed_version    integer,
    confirmed          jsonb,            -- the summary last confirmed
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Integrators' webhook endpoints, registered by operators. The secret is
-- kept as given: it is needed in clear to sign each delivery.
CREATE TABLE notifications.webhook_endpoints (
    id             text PRIMARY KEY,
    url            text NOT NULL,
    secret         text NOT NULL,
    allow_private  boolean NOT NULL DEFAULT false,
    event_types    text[] NOT NULL DEFAULT '{}',  -- empty: every event
    description    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    removed_at     timestamptz
);

-- One row per (cause event, recipient, channel): the whole of "never
-- twice". A row is written in the transaction of the event that causes it,
-- with everything needed to send it; the delivery worker sends it, retries
-- it and records the result. Reminders are rows whose due time is days away.
CREATE TABLE notifications.deliveries (
    id                uuid PRIMARY KEY,  -- Message-ID, webhook-id, the feed's Nats-Msg-Id
    cause_event_id    text NOT NULL,
    recipient_kind    text NOT NULL CHECK (recipient_kind IN ('CITY', 'EXPERT', 'INTEGRATOR')),
    recipient_ref     text NOT NULL,     -- city code, expert id or endpoint id
    channel           text NOT NULL CHECK (channel IN ('EMAIL', 'CITY_FEED', 'WEBHOOK')),
    notice            text NOT NULL,     -- ileaps.notification.v1.Notice name
    enquiry_id        text,
    workshop_id       text,
    workshop_version  integer,
    payload           jsonb NOT NULL,    -- what the channel sends (see crate::store::Payload)
    traceparent       text,
    tracestate        text,
    status            text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED', 'CANCELLED')),
    due_at            timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    last_error_class  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    UNIQUE (cause_event_id, recipient_kind, recipient_ref, channel)
);
-- The worker's scan: only pending rows, in due order.
CREATE INDEX deliveries_due ON notifications.deliveries (due_at) WHERE status = 'PENDING';
-- Cancelling a workshop's pending reminders.
CREATE INDEX deliveries_pending_by_workshop ON notifications.deliveries (workshop_id)
    WHERE status = 'PENDING' AND workshop_id IS NOT NULL;
