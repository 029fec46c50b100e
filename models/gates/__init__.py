"""Approval gates: the record behind every human decision and its votes, with the pure rules (`tables`), and
the services that open, vote, escalate, expire and sign them (`service`)."""
