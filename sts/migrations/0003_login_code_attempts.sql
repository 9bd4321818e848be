-- How many second-factor codes a login has been sent: a login ends after a few wrong ones, so one
-- handle cannot be used to guess codes without end.
ALTER TABLE login_requests ADD COLUMN code_attempts INTEGER NOT NULL DEFAULT 0;
