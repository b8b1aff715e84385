-- What the trusted border said of each incoming mail's From domain, kept with the message so
-- agents and operators can see whether its sender was verified: 'pass', 'fail', 'none', or
-- 'unchecked' when no trusted border (agents.trusted_authserv_id) was configured, and why.
-- Mail stored before this migration has NULL.
ALTER TABLE messages
    ADD COLUMN sender_verdict text CHECK (sender_verdict IN ('pass', 'fail', 'none', 'unchecked')),
    ADD COLUMN sender_verdict_why text;
