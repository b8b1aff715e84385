-- The HMAC secret that signs spocd's Message-IDs, reply tokens and VERP addresses is the power to
-- act as any agent: read access to the tickets must not give it. It moves to a schema of its own
-- that only spocd's role (the owner) may use, so "GRANT SELECT ON ALL TABLES IN SCHEMA public" to
-- a reporting role, or a read-only replica user, does not reach it.
CREATE SCHEMA spocd_private;
REVOKE ALL ON SCHEMA spocd_private FROM PUBLIC;
ALTER TABLE spocd_secrets SET SCHEMA spocd_private;
REVOKE ALL ON spocd_private.spocd_secrets FROM PUBLIC;
