-- The text an acknowledgement's suggestions are searched with, analysed once when it is
-- written instead of on every search: a ticket's subject and the new text (else the whole
-- text) of its first inbound mail that is not internal, cut to 10,000 characters (a pasted log
-- of megabytes must not make a query of thousands of words), under both configurations an
-- article can be in. The notifier asks for the suggestions of a whole batch in one query
-- (store_kb.c); analysing the requester's 200 latest solved tickets afresh for every
-- acknowledgement was most of the notifier's time.
--
-- The columns are kept by the writes that change the text: the first inbound mail of a
-- ticket (one statement-level trigger per INSERT into messages), a later change of that
-- mail's text, ticket or internal flag, and a change of the ticket's subject. A ticket with no
-- inbound mail has NULL here and store_kb.c analyses its subject as it did before.

CREATE FUNCTION spocd_ticket_kb_text(tid bigint, subj text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT left(subj || E'\n' || coalesce((SELECT coalesce(nullif(m.body_new, ''), m.body_text)
        FROM messages m WHERE m.ticket_id = tid AND m.direction = 'in' AND NOT m.internal
        ORDER BY m.id LIMIT 1), ''), 10000)
$$;

ALTER TABLE tickets ADD COLUMN kb_en tsvector, ADD COLUMN kb_es tsvector;

-- An old ticket is searched in its own language's configuration.
CREATE INDEX tickets_kb ON tickets
 USING gin ((CASE language WHEN 'es' THEN kb_es ELSE kb_en END));

-- Recomputes the columns of the tickets given. OFFSET 0 keeps the subquery from being folded
-- into the SET list, where the text would be read once per column.
CREATE FUNCTION spocd_ticket_kb_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE tickets t SET kb_en = to_tsvector('english', x.text),
                         kb_es = to_tsvector('spanish', x.text)
      FROM (SELECT id, spocd_ticket_kb_text(id, subject) AS text FROM tickets
             WHERE id = ANY (ids) OFFSET 0) x
     WHERE x.id = t.id
$$;

SELECT spocd_ticket_kb_refresh(array_agg(t.id)) FROM tickets t
 WHERE EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'in'
                AND NOT m.internal);

-- A ticket's first inbound mail: only a statement that inserts the first one of a ticket
-- touches the ticket (a reply is not its first).
CREATE FUNCTION spocd_messages_kb() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spocd_ticket_kb_refresh(array_agg(DISTINCT n.ticket_id))
       FROM new_messages n
      WHERE n.direction = 'in' AND NOT n.internal AND n.ticket_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = n.ticket_id
                         AND m.direction = 'in' AND NOT m.internal AND m.id < n.id)
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_kb AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages
  FOR EACH STATEMENT EXECUTE FUNCTION spocd_messages_kb();

-- Rare: an agent's #internal, a message moved to another ticket. Both tickets of a move.
CREATE FUNCTION spocd_message_kb_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spocd_ticket_kb_refresh(ARRAY[OLD.ticket_id, NEW.ticket_id]);
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_kb_changed
  AFTER UPDATE OF ticket_id, internal, body_new, body_text, direction ON messages
  FOR EACH ROW
  WHEN (OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.internal IS DISTINCT FROM NEW.internal
        OR OLD.body_new IS DISTINCT FROM NEW.body_new OR OLD.body_text IS DISTINCT FROM NEW.body_text
        OR OLD.direction IS DISTINCT FROM NEW.direction)
  EXECUTE FUNCTION spocd_message_kb_changed();

CREATE FUNCTION spocd_ticket_kb_subject() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    text text := spocd_ticket_kb_text(NEW.id, NEW.subject);
BEGIN
    IF NEW.kb_en IS NOT NULL THEN
        NEW.kb_en := to_tsvector('english', text);
        NEW.kb_es := to_tsvector('spanish', text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tickets_kb_subject BEFORE UPDATE OF subject ON tickets
  FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
  EXECUTE FUNCTION spocd_ticket_kb_subject();
