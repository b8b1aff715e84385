-- An agent's reply tokens carry the agent's token generation: spocctl agent revoke bumps it, and
-- every token issued before stops proving anything (a token leaked in a copy to a requester or a
-- vendor is revoked without waiting for it to expire).
ALTER TABLE agents ADD COLUMN token_generation integer NOT NULL DEFAULT 0
    CHECK (token_generation BETWEEN 0 AND 999999);
