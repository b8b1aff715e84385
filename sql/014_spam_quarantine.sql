-- Spam is kept in the quarantine like a message spocd could not handle, but told apart from it:
-- an operator lists it (spocctl quarantine list --reason spam) and releases what was not spam
-- (spocctl quarantine release ID). 'error' is everything else the quarantine holds.
ALTER TABLE quarantine
    ADD COLUMN category text NOT NULL DEFAULT 'error' CHECK (category IN ('error', 'spam'));
CREATE INDEX quarantine_category ON quarantine (category, id) WHERE replayed_at IS NULL;
