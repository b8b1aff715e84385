-- Caps that hold: the notifier applies the rate limits when it sends a row, to every kind
-- whoever queued it (spocd, the status trigger, the SLA watch), counting what was sent to the
-- same recipient key, on the same ticket and, for automatic mail, to everyone (src/desk/caps.c).
-- A row over a limit is 'held' with the reason in last_error and next_attempt_at at its release,
-- when the notifier asks again; it is no longer held for good when queued.

-- The key a recipient is counted by: lower case (ASCII, as SMTP domains and most local parts
-- are), a "+tag" cut from the local part (not a leading '+'), and for gmail.com and
-- googlemail.com (the same mailboxes) the dots of the local part removed and the domain read as
-- gmail.com. victim+1@, victim+2@ and Victim@ are one address; so are v.i.c.t.i.m@gmail.com and
-- victim@googlemail.com. caps_recipient_key() in src/desk/caps.c computes the same.
CREATE FUNCTION outbox_recipient_key(addr text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN p.at <= 1 THEN p.l
           ELSE (SELECT CASE WHEN d.dom = 'gmail.com' THEN replace(d.loc, '.', '') ELSE d.loc END
                        || '@' || d.dom
                   FROM (SELECT CASE WHEN strpos(substr(p.loc, 2), '+') > 0
                                     THEN left(p.loc, strpos(substr(p.loc, 2), '+'))
                                     ELSE p.loc END AS loc,
                                CASE WHEN p.dom = 'googlemail.com' THEN 'gmail.com'
                                     ELSE p.dom END AS dom) d)
           END
      FROM (SELECT l, at, left(l, greatest(at - 1, 0)) AS loc, substr(l, at + 1) AS dom
              FROM (SELECT l, CASE WHEN strpos(l, '@') = 0 THEN 0
                                   ELSE length(l) - strpos(reverse(l), '@') + 1 END AS at
                      FROM (SELECT translate(addr, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                             'abcdefghijklmnopqrstuvwxyz') AS l) a) b) p
$$;

ALTER TABLE outbox ADD COLUMN recipient_key text
    GENERATED ALWAYS AS (outbox_recipient_key(recipient)) STORED;

-- What the counts read: mail sent to one key, on one ticket, and all automatic mail, by sent_at.
CREATE INDEX outbox_key_sent ON outbox (recipient_key, sent_at) WHERE state = 'sent';
CREATE INDEX outbox_ticket_sent ON outbox (ticket_id, sent_at) WHERE state = 'sent';
CREATE INDEX outbox_automatic_sent ON outbox (sent_at)
    WHERE state = 'sent' AND kind <> 'agent-reply';
-- The queue-time counts by lower(recipient) and created_at are gone.
DROP INDEX outbox_recipient_recent;
-- The claim: the next due row, pending or held.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state IN ('pending', 'held');

-- Rows held before this migration were held for good. Their next_attempt_at is when they were
-- queued, so the notifier asks again at once: a young one is sent if its window has passed, one
-- older than smtp.max_retry_age is given up with that reason.
