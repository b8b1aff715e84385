-- mailbox_state.last_uid was written after every batch and read by nothing: what is still to do
-- is what is still in the mailbox (every pass lists it; ingest_log knows what was taken), and an
-- unchanged folder is told by CONDSTORE's HIGHESTMODSEQ and UIDNEXT. As a high-water mark it was
-- also wrong: a UID the server sent no body for stays in the mailbox below it. The table keeps
-- the UIDVALIDITY each mailbox was last seen with.
ALTER TABLE mailbox_state DROP COLUMN last_uid;
