-- A secret for the HMAC tags of the Message-IDs and reply tokens spocd mints, made here so that
-- a desk that configures none (threading.secret_files) is still safe: two random UUIDs from the
-- server's strong random source, 244 random bits. Whoever can read this table can read the
-- tickets anyway.
CREATE TABLE spocd_secrets (
    name        text PRIMARY KEY,
    value       text NOT NULL CHECK (length(value) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO spocd_secrets (name, value)
    VALUES ('threading', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
