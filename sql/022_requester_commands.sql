-- Requesters help themselves by mail: "#my tickets" is answered with the list of their open
-- tickets ('my-tickets', on no ticket: the list is about all of them) and "#close" with what
-- became of it ('requester-result', on the ticket it closed, or on none when the mail reached no
-- ticket of theirs). A mail that is only such commands opens no ticket: ingest_log says
-- 'command'.
--
-- The allowed kinds and outcomes are added to whatever the constraints allow when this runs,
-- so that the kinds of any earlier migration stay allowed.
CREATE FUNCTION spocd_allow_values(tab regclass, con text, col text, extra text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    def text;
    vals text[];
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
     WHERE conrelid = tab AND conname = con;
    SELECT coalesce(array_agg(DISTINCT v), '{}') INTO vals FROM (
        SELECT (regexp_matches(coalesce(def, ''), '''((?:[^'']|'''')*)''', 'g'))[1] AS v
        UNION SELECT unnest(extra)) x;
    IF def IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tab, con);
    END IF;
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I = ANY (%L::text[]))',
                   tab, con, col, vals);
END $$;

SELECT spocd_allow_values('outbox', 'outbox_kind_check', 'kind',
                          ARRAY['my-tickets', 'requester-result']);
SELECT spocd_allow_values('ingest_log', 'ingest_log_outcome_check', 'outcome',
                          ARRAY['command']);
DROP FUNCTION spocd_allow_values(regclass, text, text, text[]);

-- The list of a requester's tickets, and the answer to a #close that reached no ticket of
-- theirs, belong to no ticket; every other notice belongs to one.
ALTER TABLE outbox ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_ticket_needed
    CHECK (ticket_id IS NOT NULL OR kind IN ('my-tickets', 'requester-result'));
