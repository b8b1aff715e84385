-- Leases on singleton work ("mailbox:INBOX" for the one worker of a mailbox, "sla-watch" for the
-- SLA watcher), replacing the session advisory locks that a transaction-pooling PgBouncer does
-- not keep. A row is taken by one statement that inserts it, renews it for its own holder or takes
-- it over once expired; fencing grows by one whenever the holder changes, and every write
-- transaction of the work re-reads holder and fencing (FOR UPDATE) before its COMMIT, so a holder
-- that was paused past its expiry and superseded cannot commit. Times are the database's now():
-- hosts whose clocks disagree still agree on who holds what. node names the kernel boot and PID
-- namespace the holder runs in: a process in the same one may take over at once from a holder
-- whose PID no longer exists there (a restart after a crash), instead of waiting for the expiry.
CREATE TABLE leases (
    name        text PRIMARY KEY CHECK (name <> ''),
    holder      text NOT NULL CHECK (holder <> ''),
    node        text NOT NULL DEFAULT '',
    expires_at  timestamptz NOT NULL,
    fencing     bigint NOT NULL DEFAULT 1 CHECK (fencing > 0),
    taken_at    timestamptz NOT NULL DEFAULT now()
);
