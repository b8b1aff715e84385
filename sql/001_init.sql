-- spocd schema, first version: tickets, the messages on them, what was ingested from which
-- mailbox UID, the quarantine, and the outbox of notifications.

CREATE SEQUENCE ticket_number_seq;

CREATE TABLE tickets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      bigint NOT NULL UNIQUE DEFAULT nextval('ticket_number_seq'),
    kind        text NOT NULL CHECK (kind IN ('incident', 'request')),
    display     text GENERATED ALWAYS AS (
                    CASE kind WHEN 'incident' THEN 'INC-' ELSE 'REQ-' END
                    || lpad(number::text, 6, '0')) STORED,
    kind_rule   text NOT NULL DEFAULT '',
    subject     text NOT NULL,
    status      text NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    requester   text NOT NULL,
    requester_name text NOT NULL DEFAULT '',
    language    text NOT NULL DEFAULT 'en',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE ticket_number_seq OWNED BY tickets.number;

-- The number is immutable once given.
CREATE FUNCTION tickets_number_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.number <> OLD.number THEN
        RAISE EXCEPTION 'ticket number % is immutable', OLD.number;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_number_immutable BEFORE UPDATE OF number ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_number_immutable();

CREATE TABLE messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint REFERENCES tickets(id),
    direction   text NOT NULL CHECK (direction IN ('in', 'out')),
    message_id  text NOT NULL,
    message_id_synthetic boolean NOT NULL DEFAULT false,
    in_reply_to text,
    refs        text[] NOT NULL DEFAULT '{}',
    from_addr   text NOT NULL DEFAULT '',
    from_name   text NOT NULL DEFAULT '',
    to_addrs    text NOT NULL DEFAULT '',
    cc_addrs    text NOT NULL DEFAULT '',
    subject     text NOT NULL DEFAULT '',
    sent_at     timestamptz,
    body_text   text NOT NULL DEFAULT '',
    raw         bytea NOT NULL,
    raw_sha256  text NOT NULL,
    automatic   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE messages ALTER COLUMN raw SET COMPRESSION lz4;
CREATE INDEX messages_ticket ON messages (ticket_id);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_raw_sha256 ON messages (raw_sha256);

CREATE TABLE mailbox_state (
    mailbox     text PRIMARY KEY,
    uidvalidity bigint NOT NULL,
    last_uid    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (mailbox, UIDVALIDITY, UID) ever taken: the key that makes a crash between COMMIT
-- and MOVE harmless.
CREATE TABLE ingest_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox     text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    raw_sha256  text NOT NULL,
    outcome     text NOT NULL
                CHECK (outcome IN ('ticket', 'reply', 'duplicate', 'automatic', 'quarantined')),
    message_row bigint REFERENCES messages(id),
    ticket_id   bigint REFERENCES tickets(id),
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (mailbox, uidvalidity, uid)
);

-- UIDs being worked on. A row outlives its batch only when spocd died while processing it: the
-- next passes take such a UID alone, and one that keeps killing spocd is quarantined unparsed
-- instead of wedging the mailbox in a crash loop.
CREATE TABLE ingest_attempts (
    mailbox     text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    attempts    integer NOT NULL DEFAULT 1,
    last_attempt_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, uidvalidity, uid)
);

-- Messages that could not become a ticket, kept whole with the reason, for an operator to see and
-- replay.
CREATE TABLE quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox     text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    reason      text NOT NULL,
    raw         bytea NOT NULL,
    raw_sha256  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);
ALTER TABLE quarantine ALTER COLUMN raw SET COMPRESSION lz4;

CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('ack')),
    ticket_id   bigint NOT NULL REFERENCES tickets(id),
    in_reply_to_message bigint REFERENCES messages(id),
    recipient   text NOT NULL,
    recipient_name text NOT NULL DEFAULT '',
    language    text NOT NULL,
    message_id  text NOT NULL UNIQUE,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- The notifier's claim orders by (next_attempt_at, id): rows queued in one transaction share
-- next_attempt_at, so both columns are needed to find the next one without a sort.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
