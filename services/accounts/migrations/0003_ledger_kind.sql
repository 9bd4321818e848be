-- What each ledger row is: a `debit` (money out, negative), a `credit` (money in, positive), or a
-- `void` (no money, amount 0): the record that a reference was settled as never debited. A void
-- holds its reference under the same UNIQUE (account_id, reference) as a debit, so of a void and
-- a debit racing for one reference exactly one is written, whatever the interleaving.
ALTER TABLE ledger ADD COLUMN kind TEXT NOT NULL DEFAULT 'debit';
UPDATE ledger SET kind = 'credit' WHERE amount_minor > 0;
