"""What every domain builds on: the clock tests can set, column types, the database engine and sessions,
migrations, the audit log, errors that name the field, typed row access, and the unattended parts' heartbeats.

Imports no other package of `models` (an import-linter contract)."""
