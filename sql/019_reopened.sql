-- A requester's mail that reopens a resolved ticket is logged as 'reopened', not as a plain
-- reply, and audited as a reopen: beside the status change a 'reopened' event names who did it.
ALTER TABLE ingest_log DROP CONSTRAINT ingest_log_outcome_check;
ALTER TABLE ingest_log ADD CONSTRAINT ingest_log_outcome_check
    CHECK (outcome IN ('ticket', 'reply', 'reopened', 'duplicate', 'automatic', 'quarantined'));

CREATE OR REPLACE FUNCTION tickets_audit() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF OLD.status IN ('resolved', 'closed') AND NEW.status NOT IN ('resolved', 'closed') THEN
            INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value,
                                       new_value)
                VALUES (NEW.id, who, how, msg, 'reopened', OLD.status, NEW.status);
        END IF;
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
