-- 'unreachable': the desk told, once, that a ticket's requester or watcher can no longer be
-- reached (their address bounced for good); automatic mail to them is held meanwhile
-- (bounce.suppress_days) and tried again when they write.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('ack', 'agent-reply', 'follow-up', 'command-result', 'command-unproven',
                    'status', 'sla-warning', 'sla-breach', 'new-ticket', 'assigned',
                    'unreachable'));
