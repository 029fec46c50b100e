"""The notification outbox table: every message is a row before anything is sent (`tables`); sending is
`notifications/`."""

# The folder's public names; inside models/ import from the module (tables, service) itself.
from models.outbox.tables import (  # noqa: F401
    MAX_ATTEMPTS,
    STALE_CLAIM,
    Notification,
    NotificationPublic,
    NotificationStatus,
    backoff,
)

__all__ = [
    "MAX_ATTEMPTS",
    "Notification",
    "NotificationPublic",
    "NotificationStatus",
    "STALE_CLAIM",
    "backoff",
]
