-- The rate limits' counts read only indexes (src/store/store_outbox.c, claim_facts() and the
-- claim's hourly count of automatic mail): each index of sent rows also holds the columns the
-- counts test, so a recipient's or a ticket's last day is an index-only scan of its few
-- entries, instead of a visit to the table for each of them. On a desk of a million tickets
-- these visits made the counts of a batch more than twice as slow as on an empty desk.
-- Rows sent in the last day are read from the table still while the visibility map does not
-- yet say their pages are all-visible (until VACUUM has passed over them), as before.
DROP INDEX outbox_key_sent;
CREATE INDEX outbox_key_sent ON outbox (recipient_key, sent_at) INCLUDE (ticket_id, kind)
    WHERE state = 'sent';
DROP INDEX outbox_ticket_sent;
CREATE INDEX outbox_ticket_sent ON outbox (ticket_id, sent_at) INCLUDE (recipient_key, kind)
    WHERE state = 'sent';
DROP INDEX outbox_automatic_sent;
CREATE INDEX outbox_automatic_sent ON outbox (sent_at) INCLUDE (kind)
    WHERE state = 'sent' AND kind <> 'agent-reply';
