-- Customer satisfaction (CSAT): the resolution notice asks the requester how the desk did; their
-- reply that starts with a rating (1..5, "muy bien", "good": src/desk/csat.c) is recorded here,
-- one row per ticket. A later rating replaces the row; every rating, the first and each one
-- after, is an event 'csat' of ticket_events (old and new rating), naming the message that
-- carried it, whose note_why says what was read. team is the ticket's team when it was rated,
-- for spocctl stats and the metrics; comment is the rest of the reply's text.
CREATE TABLE ticket_csat (
    ticket_id   bigint PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text NOT NULL DEFAULT '',
    team        text NOT NULL DEFAULT '',
    message_row bigint REFERENCES messages(id),
    rated_by    text NOT NULL,
    rated_at    timestamptz NOT NULL DEFAULT now()
);
-- spocctl stats and the metrics look at recent weeks only.
CREATE INDEX ticket_csat_rated_at ON ticket_csat (rated_at);

CREATE FUNCTION ticket_csat_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
BEGIN
    INSERT INTO ticket_events (ticket_id, actor, via, message_row, field, old_value, new_value)
        VALUES (NEW.ticket_id, NEW.rated_by, how, NEW.message_row, 'csat',
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.rating::text END, NEW.rating::text);
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_csat_audit AFTER INSERT OR UPDATE ON ticket_csat
    FOR EACH ROW EXECUTE FUNCTION ticket_csat_audit();
