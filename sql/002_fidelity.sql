-- What spocd reads of each message: the new text apart from the quoted history and the
-- signature, where the body came from, what a limit left out; attachments, their bytes stored
-- once per content; and what became of a replayed quarantine entry.

ALTER TABLE messages
    ADD COLUMN body_new       text NOT NULL DEFAULT '',
    ADD COLUMN body_quoted    text NOT NULL DEFAULT '',
    ADD COLUMN body_signature text NOT NULL DEFAULT '',
    ADD COLUMN body_source    text NOT NULL DEFAULT 'text/plain'
               CHECK (body_source IN ('text/plain', 'text/html', 'tnef', 'none')),
    -- one line per thing a limit left out (the raw message still holds it)
    ADD COLUMN left_out       text[] NOT NULL DEFAULT '{}';

-- Attachment bytes, once per SHA-256: the same logo or signature image in a thousand mails is
-- stored once.
CREATE TABLE blobs (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size        bigint NOT NULL CHECK (size >= 0),
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION lz4;

CREATE TABLE attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_row  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    ordinal      integer NOT NULL,
    name         text NOT NULL CHECK (name <> ''),
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL REFERENCES blobs(sha256),
    content_id   text,
    disposition  text NOT NULL CHECK (disposition IN ('attachment', 'inline')),
    -- mime: a part of the message; tnef: a file from a winmail.dat; message: a forwarded
    -- message kept as .eml, whose readable text is in text
    origin       text NOT NULL CHECK (origin IN ('mime', 'tnef', 'message')),
    text         text,
    UNIQUE (message_row, ordinal)
);
CREATE INDEX attachments_sha256 ON attachments (sha256);

-- A replayed entry says what it became; a replay that failed again says why.
ALTER TABLE quarantine
    ADD COLUMN replay_outcome     text,
    ADD COLUMN replay_ticket_id   bigint REFERENCES tickets(id),
    ADD COLUMN replay_message_row bigint REFERENCES messages(id),
    ADD COLUMN replay_error       text;
CREATE INDEX quarantine_waiting ON quarantine (id) WHERE replayed_at IS NULL;
