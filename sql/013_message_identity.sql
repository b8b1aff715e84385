-- When two incoming mails are the same message (src/mail/identity.c): a Message-ID alone does
-- not say so, since a broken mailer or a stranger can reuse one. body_sha256 is the digest of
-- the body, content_sha256 that of every header field but the trace fields delivery adds,
-- and the body. A mail whose Message-ID an earlier, different mail already carried is imported
-- and names that earlier message in message_id_clash_of. Rows from before have NULL digests and
-- are compared by Message-ID alone, as they were.
ALTER TABLE messages
    ADD COLUMN body_sha256 text,
    ADD COLUMN content_sha256 text,
    ADD COLUMN message_id_clash_of bigint REFERENCES messages(id);
CREATE INDEX messages_content_sha256 ON messages (content_sha256);
