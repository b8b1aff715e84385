-- The notifier: status updates queued by the database itself whoever changes a ticket, SLA
-- warnings sent once per ticket and target, knowledge-base articles suggested in
-- acknowledgements, and a wake-up call to every listening notifier when there is mail to send.

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ack', 'agent-reply', 'follow-up', 'command-result', 'status',
                    'sla-warning', 'sla-breach'));
-- A row queued by SQL (the status trigger) cannot sign a Message-ID: the notifier mints it, and
-- stores it before the first attempt, so every retry sends the same one.
ALTER TABLE outbox ALTER COLUMN message_id DROP NOT NULL;
-- What a notice is about beyond its ticket: {"from": "new", "to": "resolved", "actor": ...}
-- for a status update, {"target": "resolution", "due": ..., "share": 75} for an SLA notice.
ALTER TABLE outbox ADD COLUMN detail jsonb NOT NULL DEFAULT '{}';
-- When an operator last pushed the row again (spocctl outbox retry): its retry age counts from
-- then, not from when it was queued.
ALTER TABLE outbox ADD COLUMN retried_at timestamptz;
CREATE INDEX outbox_state_created ON outbox (state, created_at);

-- Every notifier LISTENs on spocd_outbox: one call per statement that queued anything.
CREATE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('spocd_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_wake AFTER INSERT OR UPDATE OF state, next_attempt_at ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake();

-- The requester and watchers hear of every status change in the transaction that makes it,
-- whoever makes it (an agent's mail, spocctl, any SQL client). Not told: a participant whose
-- own mail made the change (their reply reopened the ticket: they know).
CREATE FUNCTION tickets_status_notice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('spocd.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
    who_name text;
BEGIN
    SELECT name INTO who_name FROM agents WHERE address = lower(who);
    INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, recipient_name,
                        language, state, detail)
    SELECT 'status', NEW.id,
           coalesce((SELECT m.id FROM messages m
                      WHERE m.ticket_id = NEW.id AND NOT m.internal
                        AND ((m.direction = 'in' AND lower(m.from_addr) = p.address)
                          OR (m.direction = 'out' AND lower(m.to_addrs) = p.address))
                      ORDER BY m.id DESC LIMIT 1),
                    (SELECT min(m.id) FROM messages m
                      WHERE m.ticket_id = NEW.id AND m.direction = 'in')),
           p.address, p.name, NEW.language, 'pending',
           jsonb_build_object('from', OLD.status, 'to', NEW.status, 'actor', who,
                              'actor_name', coalesce(nullif(who_name, ''), ''), 'via', how)
      FROM participants p
     WHERE p.ticket_id = NEW.id
       AND NOT (how = 'email' AND lower(who) = p.address);
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_status_notice AFTER UPDATE OF status ON tickets
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tickets_status_notice();

-- The SLA watch looks at open tickets only, every minute.
CREATE INDEX tickets_open ON tickets (id) WHERE status IN ('new', 'in-progress', 'pending');

-- Which SLA notices went out: one warning and one breach per ticket and target, ever.
CREATE TABLE sla_notices (
    ticket_id   bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    target      text NOT NULL CHECK (target IN ('first-response', 'resolution')),
    level       text NOT NULL CHECK (level IN ('warning', 'breach')),
    due         timestamptz NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, target, level)
);

-- Self-service articles suggested in acknowledgements, searched with the text-search
-- configuration of their language.
CREATE TABLE kb_articles (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       text NOT NULL CHECK (title <> ''),
    body        text NOT NULL DEFAULT '',
    url         text NOT NULL DEFAULT '',
    language    text NOT NULL CHECK (language IN ('es', 'en')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector(CASE language WHEN 'es' THEN 'spanish'::regconfig
                                          ELSE 'english'::regconfig END, title), 'A') ||
                    setweight(to_tsvector(CASE language WHEN 'es' THEN 'spanish'::regconfig
                                          ELSE 'english'::regconfig END, body), 'B')) STORED
);
CREATE INDEX kb_articles_search ON kb_articles USING gin (search);
-- An acknowledgement also suggests the requester's own solved tickets.
CREATE INDEX tickets_requester ON tickets (lower(requester));
