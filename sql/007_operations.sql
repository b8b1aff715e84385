-- Operations: when each mailbox was last read successfully and what went wrong last, for
-- spocctl health and the metrics (a mailbox that was never reached has no row at all).
CREATE TABLE mailbox_health (
    mailbox       text PRIMARY KEY,
    last_ok_at    timestamptz,
    last_error    text NOT NULL DEFAULT '',
    last_error_at timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
