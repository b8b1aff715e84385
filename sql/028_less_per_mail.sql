-- Less work per ingested mail, with the same results.
--
-- A function in LANGUAGE sql that PostgreSQL cannot inline (a FROM, a subquery) has its body
-- parsed and planned again by every statement that calls it: once per INSERT into outbox for the
-- generated recipient_key, once per new ticket for its knowledge-base text. In PL/pgSQL the
-- same query is planned once per session. The bodies below are the earlier ones, unchanged,
-- but for the recipient key's, written as the same steps without a query.
--
-- The knowledge-base columns of a new ticket (024_ticket_search.sql) were written by an UPDATE
-- of the ticket right after its first inbound mail: a second version of the row, its indexes
-- written twice (the GIN index on the vectors keeps it from being a HOT update) and every UPDATE
-- trigger of tickets run for nothing. spocd now writes the vectors in the INSERT that creates the
-- ticket, from the text of the mail it creates it with, and the trigger updates only the tickets
-- whose stored vectors differ from the ones it computes: a ticket written by another client, or
-- by spocd with other text, is refreshed exactly as before.

-- The same steps as 015_caps.sql's query, one assignment each: PL/pgSQL evaluates a plain
-- expression without the executor, so the key costs microseconds.
CREATE OR REPLACE FUNCTION outbox_recipient_key(addr text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    l   text := translate(addr, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
    at  integer;  -- the last '@', 0 when there is none
    loc text;
    dom text;
BEGIN
    at := CASE WHEN strpos(l, '@') = 0 THEN 0 ELSE length(l) - strpos(reverse(l), '@') + 1 END;
    IF at <= 1 THEN
        RETURN l;
    END IF;
    loc := left(l, at - 1);
    dom := substr(l, at + 1);
    IF strpos(substr(loc, 2), '+') > 0 THEN
        loc := left(loc, strpos(substr(loc, 2), '+'));
    END IF;
    IF dom = 'googlemail.com' THEN
        dom := 'gmail.com';
    END IF;
    IF dom = 'gmail.com' THEN
        loc := replace(loc, '.', '');
    END IF;
    RETURN loc || '@' || dom;
END $$;

CREATE OR REPLACE FUNCTION spocd_ticket_kb_text(tid bigint, subj text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT left(subj || E'\n' || coalesce((SELECT coalesce(nullif(m.body_new, ''), m.body_text)
        FROM messages m WHERE m.ticket_id = tid AND m.direction = 'in' AND NOT m.internal
        ORDER BY m.id LIMIT 1), ''), 10000));
END $$;

CREATE OR REPLACE FUNCTION spocd_ticket_kb_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets t SET kb_en = to_tsvector('english', x.text),
                         kb_es = to_tsvector('spanish', x.text)
      FROM (SELECT id, spocd_ticket_kb_text(id, subject) AS text FROM tickets
             WHERE id = ANY (ids) OFFSET 0) x
     WHERE x.id = t.id;
END $$;

-- A ticket's first inbound mail: only the tickets whose vectors are not already the ones
-- spocd_ticket_kb_refresh() would write are updated (tsvector equality is exact: the same
-- lexemes with the same positions and weights).
CREATE OR REPLACE FUNCTION spocd_messages_kb() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spocd_ticket_kb_refresh(array_agg(k.id))
       FROM (SELECT t.id, t.kb_en, t.kb_es, spocd_ticket_kb_text(t.id, t.subject) AS text
               FROM tickets t
              WHERE t.id IN (SELECT n.ticket_id FROM new_messages n
                              WHERE n.direction = 'in' AND NOT n.internal
                                AND n.ticket_id IS NOT NULL
                                AND NOT EXISTS (SELECT 1 FROM messages m
                                                 WHERE m.ticket_id = n.ticket_id
                                                   AND m.direction = 'in' AND NOT m.internal
                                                   AND m.id < n.id))
             OFFSET 0) k
      WHERE k.kb_en IS DISTINCT FROM to_tsvector('english', k.text)
         OR k.kb_es IS DISTINCT FROM to_tsvector('spanish', k.text)
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- No query searches the index of tickets' vectors: the suggestions read a requester's own
-- latest tickets done with through tickets_requester (a GIN search over every ticket would find
-- other requesters' tickets and disregard "the latest"), and match those few in memory. Every
-- new ticket paid for it.
DROP INDEX tickets_kb;
