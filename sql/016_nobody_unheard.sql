-- Nobody unheard: the desk hears of every new ticket ('new-ticket', queued by spocd as
-- notify.new_ticket says) and an agent of every ticket given to them ('assigned'), whoever
-- assigns it: an agent's #assign, spocctl or any SQL client, queued by the database in the
-- transaction that changes tickets.assignee_id, like status updates. Not told: an agent who
-- assigned the ticket to themselves.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ack', 'agent-reply', 'follow-up', 'command-result', 'command-unproven',
                    'status', 'sla-warning', 'sla-breach', 'new-ticket', 'assigned'));

CREATE FUNCTION tickets_assigned_notice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('spocd.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
    who_name text;
    first_in bigint;
BEGIN
    SELECT name INTO who_name FROM agents WHERE address = lower(who);
    SELECT min(id) INTO first_in FROM messages WHERE ticket_id = NEW.id AND direction = 'in';
    INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, recipient_name,
                        language, state, agent_id, body, author, detail)
    SELECT 'assigned', NEW.id, first_in, a.address, a.name, NEW.language, 'pending', a.id,
           coalesce((SELECT body_new FROM messages WHERE id = first_in), ''),
           coalesce((SELECT nullif(from_name, '') FROM messages WHERE id = first_in),
                    NEW.requester),
           jsonb_build_object('actor', who, 'actor_name', coalesce(nullif(who_name, ''), ''),
                              'via', how)
      FROM agents a
     WHERE a.id = NEW.assignee_id AND a.active AND a.address <> lower(who);
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_assigned_notice AFTER UPDATE OF assignee_id ON tickets
    FOR EACH ROW WHEN (NEW.assignee_id IS NOT NULL
                       AND OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)
    EXECUTE FUNCTION tickets_assigned_notice();
