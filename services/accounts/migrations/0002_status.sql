-- An account is `active` or `frozen`. Admins freeze an account (suspected fraud, a court order);
-- a frozen account keeps its money but nothing is spent from it until it is unfrozen.
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
