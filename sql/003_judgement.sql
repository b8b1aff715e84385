-- The desk's judgement: the ITIL status model enforced here whoever writes the tickets table,
-- priority (impact x urgency) and SLA due times on the ticket, agents, the participants of each
-- ticket (who may thread by subject tag), links between tickets, an audit trail of every
-- change, and what bounces taught us about addresses.

-- "open" becomes ITIL's "in-progress".
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
UPDATE tickets SET status = 'in-progress' WHERE status = 'open';
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('new', 'in-progress', 'pending', 'resolved', 'closed'));

CREATE TABLE agents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address     text NOT NULL UNIQUE CHECK (address = lower(address) AND address LIKE '%_@_%'),
    name        text NOT NULL DEFAULT '',
    team        text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tickets
    ADD COLUMN priority           smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    ADD COLUMN impact             smallint NOT NULL DEFAULT 3 CHECK (impact BETWEEN 1 AND 3),
    ADD COLUMN urgency            smallint NOT NULL DEFAULT 3 CHECK (urgency BETWEEN 1 AND 3),
    ADD COLUMN priority_rule      text NOT NULL DEFAULT '',
    ADD COLUMN triage             boolean NOT NULL DEFAULT false,
    ADD COLUMN assignee_id        bigint REFERENCES agents(id),
    ADD COLUMN team               text NOT NULL DEFAULT '',
    ADD COLUMN first_response_due timestamptz,
    ADD COLUMN resolution_due     timestamptz,
    ADD COLUMN first_response_at  timestamptz,
    ADD COLUMN resolved_at        timestamptz,
    ADD COLUMN closed_at          timestamptz;

-- Allowed moves of the status model; staying put is always allowed. A closed ticket is final:
-- a later mail makes a new ticket linked to it.
CREATE TABLE ticket_status_moves (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO ticket_status_moves VALUES
    ('new', 'in-progress'), ('new', 'pending'), ('new', 'resolved'), ('new', 'closed'),
    ('in-progress', 'pending'), ('in-progress', 'resolved'), ('in-progress', 'closed'),
    ('pending', 'in-progress'), ('pending', 'resolved'), ('pending', 'closed'),
    ('resolved', 'in-progress'), ('resolved', 'closed');

CREATE FUNCTION tickets_status_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT EXISTS (SELECT 1 FROM ticket_status_moves
                        WHERE from_status = OLD.status AND to_status = NEW.status) THEN
            RAISE EXCEPTION 'ticket %: status cannot go from % to %', OLD.display, OLD.status,
                NEW.status USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status = 'resolved' THEN
            NEW.resolved_at := now();
        ELSIF NEW.status = 'closed' THEN
            NEW.closed_at := now();
            NEW.resolved_at := coalesce(OLD.resolved_at, now());
        ELSE
            NEW.resolved_at := NULL;
        END IF;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_status_move BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_status_move();

-- Who may write on a ticket: its requester and watchers. Agents are in agents.
CREATE TABLE participants (
    ticket_id   bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    address     text NOT NULL CHECK (address = lower(address)),
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('requester', 'watcher')),
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, address)
);
INSERT INTO participants (ticket_id, address, name, role)
    SELECT id, requester, requester_name, 'requester' FROM tickets;

CREATE TABLE ticket_links (
    ticket_id        bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    linked_ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    -- possibly-related: the mail named that ticket but could not prove it belonged there;
    -- follow-up: the mail answered a ticket already closed or resolved too long ago
    kind             text NOT NULL CHECK (kind IN ('possibly-related', 'follow-up')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, linked_ticket_id)
);

-- Every change of a ticket, whoever made it: spocd and spocctl say who through the session
-- settings spocd.actor / spocd.via / spocd.message_row; any other SQL client is recorded as its
-- database user.
CREATE TABLE ticket_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    via         text NOT NULL,
    message_row bigint REFERENCES messages(id),
    field       text NOT NULL,
    old_value   text,
    new_value   text
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

CREATE FUNCTION tickets_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('spocd.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
    msg bigint := nullif(current_setting('spocd.message_row', true), '')::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, new_value)
            VALUES (NEW.id, who, how, msg, 'created', NEW.display);
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
            VALUES (NEW.id, who, how, msg, 'status', OLD.status, NEW.status);
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
            VALUES (NEW.id, who, how, msg, 'priority', 'P' || OLD.priority, 'P' || NEW.priority);
    END IF;
    IF NEW.assignee_id IS DISTINCT FROM OLD.assignee_id THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
            VALUES (NEW.id, who, how, msg, 'assignee',
                    (SELECT address FROM agents WHERE id = OLD.assignee_id),
                    (SELECT address FROM agents WHERE id = NEW.assignee_id));
    END IF;
    IF NEW.kind IS DISTINCT FROM OLD.kind THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
            VALUES (NEW.id, who, how, msg, 'kind', OLD.kind, NEW.kind);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_audit AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_audit();

-- What bounces said about an address, and which notification bounced.
CREATE TABLE address_status (
    address         text PRIMARY KEY CHECK (address = lower(address)),
    bouncing        boolean NOT NULL DEFAULT false,
    bounces         integer NOT NULL DEFAULT 0,
    last_bounce_at  timestamptz,
    last_reason     text NOT NULL DEFAULT ''
);
ALTER TABLE outbox
    ADD COLUMN bounced_at    timestamptz,
    ADD COLUMN bounce_reason text;
