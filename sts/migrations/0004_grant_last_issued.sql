-- When tokens were last issued in a grant. Issuing sets it in the same transaction as the new
-- tokens, and only while the grant is not revoked: the UPDATE holds the grant's row until the
-- tokens are committed, so a revocation running beside it either comes first (and nothing is
-- issued) or waits and deletes the new tokens with the rest of the family.
ALTER TABLE grants ADD COLUMN last_issued_at BIGINT;
