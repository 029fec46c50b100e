"""Review services the API needs: reading an archived deliverable needs an unexpired grant."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.core.clock import utcnow
from models.review.tables import ArchiveAccess


def active_grant(session: Session, review_id: int, person_id: int) -> ArchiveAccess | None:
    """The person's unexpired access to an archived review, if any."""
    return session.exec(select(ArchiveAccess).where(
        ArchiveAccess.review_id == review_id, ArchiveAccess.person_id == person_id,
        col(ArchiveAccess.status) == "granted", col(ArchiveAccess.expires_at) > utcnow())).first()
