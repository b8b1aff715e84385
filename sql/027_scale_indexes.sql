-- What a desk of a million tickets reads without going through them all (bench/scale measures
-- each against an empty desk).

-- spocctl ticket list, newest first: of one status (--status new), or of every status. Without
-- them every open ticket (or every ticket) was read and sorted to show the newest 50.
CREATE INDEX tickets_status_created ON tickets (status, created_at DESC, id DESC);
CREATE INDEX tickets_created ON tickets (created_at DESC, id DESC);

-- An acknowledgement's suggestions search the requester's latest 200 solved tickets
-- (store_kb.c): read newest first from here they are the first 200 entries, where
-- tickets_requester gave all of a requester's tickets to sort (tens of thousands for the
-- busiest senders). requester is included for an index-only scan: PostgreSQL does not take an
-- indexed lower(requester) for one whose column it does not hold.
CREATE INDEX tickets_requester_done ON tickets (lower(requester), id) INCLUDE (requester)
    WHERE status IN ('resolved', 'closed');
