"""The notification outbox table: every message is a row before anything is sent (`tables`); sending is
`notifications/`."""
