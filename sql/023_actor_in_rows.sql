-- Who changed a ticket travels in the row the change writes, and the audit trail and the notices
-- the database queues are written once per statement, not once per row.
--
-- spocd and spocctl write changed_by / changed_via / changed_by_message in the same INSERT or
-- UPDATE that changes the ticket (no statement before it to set who is acting, none after it to
-- forget). A statement that does not name them is not taken for the previous writer's: the
-- BEFORE triggers below clear them, and the audit falls back, as before, to the session settings
-- spocd.actor / spocd.via / spocd.message_row when an SQL client sets them, else to the database
-- user and 'sql'. spocd itself no longer sets those settings.
--
-- Row-level triggers that stay row-level compute values of the row being written:
-- tickets_number_immutable, tickets_status_move (status dates), tickets_sla_clock (due dates,
-- pauses) and the two below that settle who is acting. The audit, the status and assignment
-- notices, the withdrawal of SLA notices and the audit of ratings read transition tables, once
-- per statement. PostgreSQL allows no column list (UPDATE OF) and no WHEN on a trigger with
-- transition tables: each statement below keeps only the rows whose columns really changed,
-- which is what the column lists and WHEN conditions chose (a BEFORE trigger changes none of
-- status, assignee_id, priority or kind; it changes due dates only when priority, kind or
-- status is set, or an UPDATE sets them).

ALTER TABLE tickets
    ADD COLUMN changed_by         text,
    ADD COLUMN changed_via        text,
    ADD COLUMN changed_by_message bigint,
    -- true only while an UPDATE that names the three columns above is being written: stored
    -- false, always
    ADD COLUMN changed_named      boolean NOT NULL DEFAULT false CHECK (NOT changed_named);

-- What the status updates of one message are: an agent's reply that also changed the status
-- takes the status update its own mail queued, found by this key (several messages share one
-- transaction, so the time of the transaction says nothing).
ALTER TABLE outbox ADD COLUMN caused_by_message bigint;

-- An UPDATE that names who is acting (fires only when one of the columns is a SET target, even
-- with the value already stored: the same agent twice in a row is still named).
CREATE FUNCTION tickets_actor_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_named := true;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_actor_named
    BEFORE UPDATE OF changed_by, changed_via, changed_by_message ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_actor_named();

-- Every UPDATE: one that did not name who is acting carries nobody (the audit then asks the
-- session), never the previous writer. Fires after tickets_actor_named (triggers of one kind
-- fire in the order of their names).
CREATE FUNCTION tickets_actor_settle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.changed_named THEN
        NEW.changed_by := NULL;
        NEW.changed_via := NULL;
        NEW.changed_by_message := NULL;
    END IF;
    NEW.changed_named := false;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_actor_settle BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_actor_settle();

DROP TRIGGER tickets_audit ON tickets;
DROP TRIGGER tickets_status_notice ON tickets;
DROP TRIGGER tickets_assigned_notice ON tickets;
DROP TRIGGER tickets_sla_withdraw ON tickets;
DROP TRIGGER ticket_csat_audit ON ticket_csat;

-- The trail of a new ticket: 'created', by whoever the INSERT names.
CREATE OR REPLACE FUNCTION tickets_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, new_value)
        SELECT n.id,
               coalesce(n.changed_by, nullif(current_setting('spocd.actor', true), ''),
                        session_user),
               coalesce(n.changed_via, nullif(current_setting('spocd.via', true), ''), 'sql'),
               coalesce(n.changed_by_message,
                        nullif(current_setting('spocd.message_row', true), '')::bigint),
               'created', n.display
          FROM new_rows n ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_audit AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_audit();

-- Everything an UPDATE of tickets sets off, once per statement. One statement writes the trail
-- (in this order per ticket: status, reopened beside a status that leaves resolved or closed for
-- an open one, priority, assignee, kind, when they changed) and says which of the rest has work:
-- so an UPDATE that changes none of it (most of spocd's) costs one statement, queues nothing
-- and wakes no notifier. The rest, each only when it has rows: the assignment notice
-- (016_nobody_unheard.sql), the withdrawal of SLA notices that became false (020_sla_clocks.sql)
-- and the status updates (006_notifier.sql), in the order their row triggers had.
CREATE FUNCTION tickets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('spocd.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
    msg bigint := nullif(current_setting('spocd.message_row', true), '')::bigint;
    work record;
BEGIN
    WITH c AS (
        SELECT n.id, o.status AS old_status, n.status, o.priority AS old_priority, n.priority,
               o.assignee_id AS old_assignee, n.assignee_id, o.kind AS old_kind, n.kind,
               coalesce(n.changed_by, who) AS who, coalesce(n.changed_via, how) AS how,
               coalesce(n.changed_by_message, msg) AS msg,
               (o.first_response_due IS DISTINCT FROM n.first_response_due
                OR o.resolution_due IS DISTINCT FROM n.resolution_due
                OR (n.status = 'pending' AND o.status IS DISTINCT FROM 'pending')) AS sla
          FROM new_rows n JOIN old_rows o ON o.id = n.id),
    trail AS (
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value,
                                   new_value)
            SELECT c.id, c.who, c.how, c.msg, e.field, e.old_value, e.new_value
              FROM c CROSS JOIN LATERAL (VALUES
                  (1, 'status', c.old_status, c.status, c.status IS DISTINCT FROM c.old_status),
                  (2, 'reopened', c.old_status, c.status,
                   c.status IS DISTINCT FROM c.old_status
                   AND c.old_status IN ('resolved', 'closed')
                   AND c.status NOT IN ('resolved', 'closed')),
                  (3, 'priority', 'P' || c.old_priority, 'P' || c.priority,
                   c.priority IS DISTINCT FROM c.old_priority),
                  (4, 'assignee',
                   CASE WHEN c.assignee_id IS DISTINCT FROM c.old_assignee
                        THEN (SELECT address FROM agents WHERE id = c.old_assignee) END,
                   CASE WHEN c.assignee_id IS DISTINCT FROM c.old_assignee
                        THEN (SELECT address FROM agents WHERE id = c.assignee_id) END,
                   c.assignee_id IS DISTINCT FROM c.old_assignee),
                  (5, 'kind', c.old_kind, c.kind, c.kind IS DISTINCT FROM c.old_kind))
                  AS e(ord, field, old_value, new_value, changed)
             WHERE e.changed
             ORDER BY c.id, e.ord)
    SELECT coalesce(bool_or(c.assignee_id IS NOT NULL
                            AND c.assignee_id IS DISTINCT FROM c.old_assignee), false)
               AS assigned,
           coalesce(bool_or(c.sla), false) AS sla,
           coalesce(bool_or(c.status IS DISTINCT FROM c.old_status), false) AS status
      INTO work FROM c;

    -- the active agent a ticket is given to, unless they gave it to themselves
    IF work.assigned THEN
        INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, recipient_name,
                            language, state, agent_id, body, author, detail, caused_by_message)
        SELECT 'assigned', c.id, c.first_in, a.address, a.name, c.language, 'pending', a.id,
               coalesce((SELECT body_new FROM messages WHERE id = c.first_in), ''),
               coalesce((SELECT nullif(from_name, '') FROM messages WHERE id = c.first_in),
                        c.requester),
               jsonb_build_object('actor', c.who,
                                  'actor_name', coalesce(nullif((SELECT w.name FROM agents w
                                                         WHERE w.address = lower(c.who)), ''),
                                                         ''),
                                  'via', c.how),
               c.msg
          FROM (SELECT n.id, n.language, n.requester, n.assignee_id,
                       (SELECT min(m.id) FROM messages m
                         WHERE m.ticket_id = n.id AND m.direction = 'in') AS first_in,
                       coalesce(n.changed_by, who) AS who, coalesce(n.changed_via, how) AS how,
                       coalesce(n.changed_by_message, msg) AS msg
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE n.assignee_id IS NOT NULL AND o.assignee_id IS DISTINCT FROM n.assignee_id
                 ORDER BY n.id) c
          JOIN agents a ON a.id = c.assignee_id
         WHERE a.active AND a.address <> lower(c.who);
    END IF;

    -- of every ticket given other due times, or now pending, the SLA notices queued for a due
    -- time earlier than the ticket's are withdrawn, with their record in sla_notices unless
    -- some of their mails went out, and the trail says so
    IF work.sla THEN
        WITH c AS (
            SELECT n.id, n.status, n.first_response_due, n.resolution_due,
                   coalesce(n.changed_by, who) AS who, coalesce(n.changed_via, how) AS how
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE o.first_response_due IS DISTINCT FROM n.first_response_due
                OR o.resolution_due IS DISTINCT FROM n.resolution_due
                OR (n.status = 'pending' AND o.status IS DISTINCT FROM 'pending')),
        gone AS (
            DELETE FROM outbox o USING c
             WHERE o.ticket_id = c.id AND o.state IN ('pending', 'held')
               AND o.kind IN ('sla-warning', 'sla-breach')
               AND (c.status = 'pending'
                    OR coalesce((o.detail->>'due')::bigint <
                       floor(extract(epoch FROM CASE o.detail->>'target'
                           WHEN 'first-response' THEN c.first_response_due
                           ELSE c.resolution_due END))::bigint, true))
            RETURNING o.ticket_id, o.detail->>'target' AS target, substr(o.kind, 5) AS level,
                      (o.detail->>'due')::bigint AS due),
        notices AS (
            DELETE FROM sla_notices n USING (SELECT DISTINCT * FROM gone) g
             WHERE n.ticket_id = g.ticket_id AND n.target = g.target AND n.level = g.level
               AND floor(extract(epoch FROM n.due))::bigint = g.due
               AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.ticket_id = g.ticket_id
                                AND s.kind = 'sla-' || n.level AND s.detail->>'target' = n.target
                                AND (s.detail->>'due')::bigint = g.due
                                AND s.state NOT IN ('pending', 'held'))
            RETURNING n.ticket_id)
        INSERT INTO ticket_events (ticket_id, actor, via, field, old_value, new_value)
            SELECT c.id, c.who, c.how, 'sla-notice-withdrawn',
                   g.target || ' ' || g.level || ' due ' ||
                       to_char(to_timestamp(g.due) AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   CASE WHEN c.status = 'pending' THEN 'pending' ELSE 'more time' END
              FROM (SELECT DISTINCT ticket_id, target, level, due FROM gone) g
              JOIN c ON c.id = g.ticket_id
             ORDER BY c.id, g.target, g.level;
    END IF;

    -- the requester and watchers hear of every status change, but not a participant whose own
    -- mail made it
    IF work.status THEN
        INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, recipient_name,
                            language, state, detail, caused_by_message)
        SELECT 'status', c.id,
               coalesce((SELECT m.id FROM messages m
                          WHERE m.ticket_id = c.id AND NOT m.internal
                            AND ((m.direction = 'in' AND lower(m.from_addr) = p.address)
                              OR (m.direction = 'out' AND lower(m.to_addrs) = p.address))
                          ORDER BY m.id DESC LIMIT 1),
                        (SELECT min(m.id) FROM messages m
                          WHERE m.ticket_id = c.id AND m.direction = 'in')),
               p.address, p.name, c.language, 'pending',
               jsonb_build_object('from', c.old_status, 'to', c.status, 'actor', c.who,
                                  'actor_name', coalesce(nullif((SELECT a.name FROM agents a
                                                         WHERE a.address = lower(c.who)), ''),
                                                         ''),
                                  'via', c.how),
               c.msg
          FROM (SELECT n.id, n.language, n.status, o.status AS old_status,
                       coalesce(n.changed_by, who) AS who, coalesce(n.changed_via, how) AS how,
                       coalesce(n.changed_by_message, msg) AS msg
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE n.status IS DISTINCT FROM o.status ORDER BY n.id) c
         CROSS JOIN LATERAL (SELECT p.address, p.name FROM participants p
                              WHERE p.ticket_id = c.id
                                AND NOT (c.how = 'email' AND lower(c.who) = p.address)) p;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_changed AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_changed();
DROP FUNCTION tickets_status_notice();
DROP FUNCTION tickets_assigned_notice();
DROP FUNCTION tickets_sla_withdraw();

-- Ratings (021_csat.sql), by their rater; a rating that came with a message came by email
-- (spocd records every rating it reads with the message that carried it), any other by the
-- session's spocd.via, else 'sql'.
CREATE OR REPLACE FUNCTION ticket_csat_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    how text := nullif(current_setting('spocd.via', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value,
                                   new_value)
            SELECT n.ticket_id, n.rated_by,
                   coalesce(how, CASE WHEN n.message_row IS NOT NULL THEN 'email' ELSE 'sql' END),
                   n.message_row, 'csat', NULL, n.rating::text
              FROM new_rows n ORDER BY n.ticket_id;
        RETURN NULL;
    END IF;
    INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
        SELECT n.ticket_id, n.rated_by,
               coalesce(how, CASE WHEN n.message_row IS DISTINCT FROM o.message_row
                                       AND n.message_row IS NOT NULL THEN 'email' ELSE 'sql' END),
               n.message_row, 'csat', o.rating::text, n.rating::text
          FROM new_rows n JOIN old_rows o ON o.ticket_id = n.ticket_id
         ORDER BY n.ticket_id;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_csat_audit_insert AFTER INSERT ON ticket_csat
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_csat_audit();
CREATE TRIGGER ticket_csat_audit_update AFTER UPDATE ON ticket_csat
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_csat_audit();
