"""Tenancy: which contracts a person sees, and the one query filter every API read and write applies.

The rule (README "Tenancy"):
- A customer-side person (anyone but an admin whose organisation is a customer: its representatives,
  its leadership) sees only the contracts of their own organisation and the records under them.
  Tenancy follows the organisation, so an admin puts every customer representative in theirs.
  Records tied to no contract (unassigned incidents, pending alerts, inspection plans, change templates,
  the audit log) are the provider's internal data: customer-side people do not see them.
- Provider staff see every contract, unless an admin marked them `contract_scoped`: then only the
  contracts whose team they are on (or where they hold a contract-bound role); they still see
  internal records tied to no contract, but not the audit log (it spans every contract).
- Admins see everything.
Lists filter with `visible(scope, Model)`; items come from `find()`, so another tenant's id looks unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, or_, true
from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest, ChangeTemplate
from models.cmdb.tables import CIChange, ConfigurationItem
from models.contracts.scope import (  # noqa: F401 (re-exported: the API reads them from here)
    EVERYTHING,
    Scope,
    contract_clause,
    is_customer_side,
    scope_for,
    visible_contract_ids_of_team,
)
from models.contracts.tables import Contract, ContractCI
from models.core.audit import AuditEvent
from models.directory.people import OnCallShift, Organisation, OrgKind, Person
from models.gates.tables import ApprovalGate
from models.incidents.alert_inbox import InboxAlert
from models.incidents.tables import Document, Incident, IncidentEvent
from models.inspection.tables import InspectionPlan, InspectionResult, InspectionRun
from models.outbox.tables import Notification
from models.review.tables import Complaint, ImprovementMeasure, QuarterlyReview, Risk, Satisfaction


def _internal(scope: Scope) -> ColumnElement[bool]:
    return true() if scope.internal else false()


def _incident_ids(scope: Scope):
    return select(Incident.id).where(contract_clause(scope, Incident.contract_id))


def _ci(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    in_contract = select(ContractCI.ci_id).where(col(ContractCI.contract_id).in_(sorted(scope.contract_ids or ())))
    clause: ColumnElement[bool] = col(ConfigurationItem.id).in_(in_contract)
    if scope.internal:  # CIs in no contract yet (inventory) are the provider's
        clause = or_(clause, col(ConfigurationItem.id).not_in(select(col(ContractCI.ci_id))))
    return clause


def _ci_change(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    clause: ColumnElement[bool] = col(CIChange.ci_id).in_(select(ConfigurationItem.id).where(_ci(scope)))
    if scope.internal:  # the log of a deleted CI
        clause = or_(clause, col(CIChange.ci_id).not_in(select(col(ConfigurationItem.id))))
    return clause


def _alert(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    clause = col(InboxAlert.incident_id).in_(_incident_ids(scope))
    return or_(clause, col(InboxAlert.incident_id).is_(None)) if scope.internal else clause


_DOCUMENT_OWNERS: dict[str, type[Incident] | type[ChangeRequest] | type[QuarterlyReview]] = {
    "incident": Incident, "change_request": ChangeRequest, "quarterly_review": QuarterlyReview}


def _document(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    parts = [and_(col(Document.record_type) == kind, col(Document.record_id).in_(
        select(cast(col(model.id), String)).where(contract_clause(scope, model.contract_id))))
        for kind, model in _DOCUMENT_OWNERS.items()]
    if scope.internal:
        parts.append(col(Document.record_type).not_in(list(_DOCUMENT_OWNERS)))
    return or_(*parts)


def _notification(scope: Scope) -> ColumnElement[bool]:
    if scope.unrestricted:
        return true()
    gates = select(ApprovalGate.id).where(contract_clause(scope, ApprovalGate.contract_id))
    clause = col(Notification.gate_id).in_(gates)
    return or_(clause, col(Notification.gate_id).is_(None)) if scope.internal else clause


def _person(scope: Scope) -> ColumnElement[bool]:
    if scope.internal:
        return true()
    providers = select(Organisation.id).where(Organisation.kind == OrgKind.PROVIDER)
    return or_(col(Person.organisation_id).is_(None), col(Person.organisation_id).in_(providers),
               col(Person.organisation_id) == scope.organisation_id)


def _organisation(scope: Scope) -> ColumnElement[bool]:
    if scope.internal:
        return true()
    return or_(col(Organisation.kind) == OrgKind.PROVIDER, col(Organisation.id) == scope.organisation_id)


_CLAUSES: dict[type, Callable[[Scope], ColumnElement[bool]]] = {
    Contract: lambda s: contract_clause(s, Contract.id),
    Incident: lambda s: contract_clause(s, Incident.contract_id),
    IncidentEvent: lambda s: true() if s.unrestricted else col(IncidentEvent.incident_id).in_(_incident_ids(s)),
    ChangeRequest: lambda s: contract_clause(s, ChangeRequest.contract_id),
    ApprovalGate: lambda s: contract_clause(s, ApprovalGate.contract_id),
    QuarterlyReview: lambda s: contract_clause(s, QuarterlyReview.contract_id),
    ImprovementMeasure: lambda s: contract_clause(s, ImprovementMeasure.contract_id),
    Complaint: lambda s: contract_clause(s, Complaint.contract_id),
    Risk: lambda s: contract_clause(s, Risk.contract_id),
    Satisfaction: lambda s: contract_clause(s, Satisfaction.contract_id),
    OnCallShift: lambda s: contract_clause(s, OnCallShift.contract_id),
    ConfigurationItem: _ci,
    CIChange: _ci_change,
    InboxAlert: _alert,
    Document: _document,
    Notification: _notification,
    Person: _person,
    Organisation: _organisation,
    # Internal records tied to no contract: runbooks, inspection commands and results across customers.
    ChangeTemplate: _internal,
    InspectionPlan: _internal,
    InspectionRun: _internal,
    InspectionResult: _internal,
    # The audit log spans every contract: only people who see every contract read it.
    AuditEvent: lambda s: true() if s.unrestricted else false(),
}


# Timeline lines that quote the provider's knowledge base and problem records (internal, like the records).
INTERNAL_EVENT_KINDS = ("knowledge_linked", "knowledge_solved", "problem_linked", "problem_recorded")


def timeline(session: Session, scope: Scope, incident_id: int, *, latest: int | None = None) -> list[IncidentEvent]:
    """The incident's timeline lines this scope may read (a customer: not the internal knowledge and problem
    lines), oldest first; with `latest`, only that many of the newest, newest first."""
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    if not scope.internal:
        query = query.where(col(IncidentEvent.kind).not_in(INTERNAL_EVENT_KINDS))
    if latest is not None:
        return list(session.exec(query.order_by(col(IncidentEvent.at).desc(), col(IncidentEvent.id).desc())
                                 .limit(latest)))
    return list(session.exec(query.order_by(col(IncidentEvent.at), col(IncidentEvent.id))))


def may_read_gate(scope: Scope, gate: ApprovalGate, *, person_id: int, roles: Iterable[str]) -> bool:
    """A customer reads the gates put to them (their roles, their requests); the rest carry internal notes."""
    return scope.internal or gate.requested_by == person_id or bool(set(roles) & set(gate.eligible_roles))


def visible(scope: Scope, model: type) -> ColumnElement[bool]:
    """The WHERE clause that keeps only the rows of `model` this scope may see."""
    return _CLAUSES[model](scope)


def find(session: Session, scope: Scope, model: type, row_id: Any) -> Any | None:
    """The row with this primary key if it exists and the scope sees it, else None (callers answer 404)."""
    row = session.get(model, row_id)
    if row is None or scope.unrestricted:
        return row
    key = model.__table__.primary_key.columns.values()[0]
    found = session.exec(select(key).where(key == row_id, visible(scope, model))).first()
    return row if found is not None else None
