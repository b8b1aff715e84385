-- 'command-unproven': the notice an agent gets when a mail from their address could not be
-- proven theirs, so nothing in it ran. Its text is a template (conf/templates/*/
-- command-unproven.txt) like every other sentence a person reads, no longer written in the code.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ack', 'agent-reply', 'follow-up', 'command-result', 'command-unproven',
                    'status', 'sla-warning', 'sla-breach'));
