-- Notifications beyond the acknowledgement (an agent's reply relayed to the requester, a
-- requester's reply forwarded to the assignee, the answer to an agent's email commands), their
-- text and author, and the rate limit on automatic mail: a notice over the limit is kept as
-- 'held' with the reason, never sent.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ack', 'agent-reply', 'follow-up', 'command-result'));
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'sent', 'failed', 'held'));
ALTER TABLE outbox
    ADD COLUMN body     text NOT NULL DEFAULT '',
    ADD COLUMN author   text NOT NULL DEFAULT '',
    ADD COLUMN agent_id bigint REFERENCES agents(id);
CREATE INDEX outbox_recipient_recent ON outbox (lower(recipient), created_at);
CREATE INDEX outbox_ticket_recent ON outbox (ticket_id, created_at);

-- An agent's note that only agents see (#internal).
ALTER TABLE messages ADD COLUMN internal boolean NOT NULL DEFAULT false;
