-- A phone number, for the support desk to call back. Optional: not everyone gives one. Support
-- staff only ever see it masked (see `policy/policies.cedar`, action `read_contact`).
ALTER TABLE users ADD COLUMN phone TEXT;
