-- Refresh tokens the token endpoint rotated while the one spocd was given sits in a read-only
-- systemd credential: the new one is kept here, sealed with AES-256-GCM under a key derived from
-- the threading HMAC key family (a fresh nonce per write, the label as associated data), so a
-- restart logs in with it instead of the credential's, which the endpoint no longer accepts.
-- origin_sha256 is the SHA-256 of the credential's token the row descends from: when the operator
-- puts a new token in the credential, it no longer matches and the credential's wins. Beside the
-- HMAC secret, in the schema only spocd's role may use.
CREATE TABLE spocd_private.oauth2_refresh_tokens (
    label          text PRIMARY KEY,
    origin_sha256  text NOT NULL CHECK (origin_sha256 ~ '^[0-9a-f]{64}$'),
    sealed         bytea NOT NULL CHECK (length(sealed) > 28),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON spocd_private.oauth2_refresh_tokens FROM PUBLIC;
