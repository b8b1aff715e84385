-- A ticket's knowledge-base vectors name the text they were analysed from.
--
-- spocd writes a new ticket's vectors in the INSERT that creates it (028_less_per_mail.sql), and
-- the trigger of the messages' INSERT then found out whether they were already the right ones
-- by analysing the text again under both configurations: two to_tsvector() per new ticket that
-- only confirmed the two just computed, about a third of PostgreSQL's work for a new ticket.
-- tickets.kb_digest is the MD5 of the text the vectors were computed from (as a uuid: 16 bytes).
-- The trigger compares it with the MD5 of the ticket's text, which costs microseconds, and
-- refreshes the vectors exactly when they are not the ones of that text, as before:
--   * a ticket written by another client without the digest has NULL, which matches nothing,
--     so its vectors are recomputed at its first inbound mail, as before;
--   * a change of the vectors that leaves the digest as it was (another client's UPDATE of
--     kb_en or kb_es) clears it, so the digest never names a text the vectors are not of;
--   * the refresh and the subject's trigger write the digest with the vectors.
-- Tickets from before this migration have no digest: at worst their vectors are analysed once
-- more, as they would have been.

ALTER TABLE tickets ADD COLUMN kb_digest uuid;

CREATE OR REPLACE FUNCTION spocd_ticket_kb_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets t SET kb_en = to_tsvector('english', x.text),
                         kb_es = to_tsvector('spanish', x.text),
                         kb_digest = md5(x.text)::uuid
      FROM (SELECT id, spocd_ticket_kb_text(id, subject) AS text FROM tickets
             WHERE id = ANY (ids) OFFSET 0) x
     WHERE x.id = t.id;
END $$;

-- A ticket's first inbound mail: only the tickets whose vectors are not those of their text
-- are updated.
CREATE OR REPLACE FUNCTION spocd_messages_kb() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spocd_ticket_kb_refresh(array_agg(k.id))
       FROM (SELECT t.id, t.kb_digest, spocd_ticket_kb_text(t.id, t.subject) AS text
               FROM tickets t
              WHERE t.id IN (SELECT n.ticket_id FROM new_messages n
                              WHERE n.direction = 'in' AND NOT n.internal
                                AND n.ticket_id IS NOT NULL
                                AND NOT EXISTS (SELECT 1 FROM messages m
                                                 WHERE m.ticket_id = n.ticket_id
                                                   AND m.direction = 'in' AND NOT m.internal
                                                   AND m.id < n.id))
             OFFSET 0) k
      WHERE k.kb_digest IS DISTINCT FROM md5(k.text)::uuid
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION spocd_ticket_kb_subject() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    text text := spocd_ticket_kb_text(NEW.id, NEW.subject);
BEGIN
    IF NEW.kb_en IS NOT NULL THEN
        NEW.kb_en := to_tsvector('english', text);
        NEW.kb_es := to_tsvector('spanish', text);
        NEW.kb_digest := md5(text)::uuid;
    END IF;
    RETURN NEW;
END
$$;

-- Vectors changed under a digest left as it was: the digest no longer names their text.
CREATE FUNCTION spocd_ticket_kb_digest_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.kb_digest := NULL;
    RETURN NEW;
END
$$;

-- Named to run after tickets_kb_subject (BEFORE triggers run in name order), which writes
-- vectors and digest together.
CREATE TRIGGER tickets_kb_vectors BEFORE UPDATE OF kb_en, kb_es ON tickets
  FOR EACH ROW
  WHEN (OLD.kb_digest IS NOT DISTINCT FROM NEW.kb_digest
        AND (OLD.kb_en IS DISTINCT FROM NEW.kb_en OR OLD.kb_es IS DISTINCT FROM NEW.kb_es))
  EXECUTE FUNCTION spocd_ticket_kb_digest_stale();
