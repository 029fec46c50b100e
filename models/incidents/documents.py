"""Stored reports: one document of a kind per record, replaced when its run writes it again."""

from __future__ import annotations

from sqlmodel import Session, select

from models.incidents.tables import Document


def store_document(session: Session, *, kind: str, record_type: str, record_id: int, title: str,
                   body_md: str) -> Document:
    """Create the record's document of `kind`, or replace its text (a re-executed run writes it again)."""
    document = session.exec(select(Document).where(Document.kind == kind,
                                                   Document.record_id == str(record_id))).first()
    if document is None:
        document = Document(kind=kind, record_type=record_type, record_id=str(record_id), title=title, body_md=body_md)
    else:
        document.body_md = body_md
    session.add(document)
    return document
