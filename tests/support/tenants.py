"""Two customers with a record of every kind under their contracts, and people on either side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from models.changes.tables import ChangeRequest, ChangeTemplate, ChangeType
from models.cmdb.tables import CIType, ConfigurationItem
from models.contracts.tables import Contract, ContractCI, ContractMember
from models.core.clock import utcnow
from models.directory.people import OnCallShift, Organisation, OrgKind
from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.tables import ApprovalGate
from models.incidents.alert_inbox import AlertStatus, InboxAlert
from models.incidents.tables import Document, Incident, IncidentEvent, IncidentStatus, Source
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun
from models.outbox.tables import Notification, NotificationStatus
from models.review.tables import Complaint, ImprovementMeasure, QuarterlyReview, Risk

FINISHED = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # the changes ran in 2026-11


@dataclass
class Tenant:
    """One customer's records, by kind: ids the API should show only to this customer's side."""

    ids: dict[str, int] = field(default_factory=dict)


def person(session: Session, name: str, *roles: RoleKey, org: int | None = None,
           scoped: bool = False) -> tuple[int, dict[str, str]]:
    """A person with roles in an organisation; their id and Authorization headers."""
    created = create_person(session, name=name, roles=list(roles), actor="test", organisation_id=org)
    created.contract_scoped = scoped
    _, secret = issue_token(session, person_id=created.id, actor="test")
    session.commit()
    return created.id, {"Authorization": f"Bearer {secret}"}


def customer(session: Session, name: str, requester: int) -> Tenant:
    """An organisation, its contract and one record of every kind under that contract."""
    t = Tenant()
    org = Organisation(name=name, kind=OrgKind.CUSTOMER)
    session.add(org)
    session.flush()
    contract = Contract(code=f"C-{name}", name=f"{name} ops", customer_id=org.id, starts_on=date(2026, 1, 1),
                        ends_on=date(2026, 12, 31))
    session.add(contract)
    session.flush()
    ci = ConfigurationItem(name=f"{name}-db", ci_type=CIType.SERVER, hostname=f"{name}-db")
    session.add(ci)
    session.flush()
    session.add(ContractCI(contract_id=contract.id, ci_id=ci.id))
    incident = Incident(title=f"{name} outage", contract_id=contract.id, status=IncidentStatus.CLOSED)
    session.add(incident)
    session.flush()
    session.add(IncidentEvent(incident_id=incident.id, actor="test", kind="reported"))
    session.add(Document(kind="emergency_summary", record_type="incident", record_id=str(incident.id),
                         title="summary", body_md="# summary"))
    change = ChangeRequest(title=f"{name} patch", change_type=ChangeType.NORMAL, contract_id=contract.id,
                           requested_by=requester, steps=[{"name": "patch", "run": "yum update -y"}],
                           started_at=FINISHED - timedelta(minutes=30), finished_at=FINISHED)
    session.add(change)
    session.flush()
    session.add(Document(kind="release_report", record_type="change_request", record_id=str(change.id),
                         title="release", body_md="# release"))
    alert = InboxAlert(actor="monitor", source=Source.WEBHOOK, fingerprint=f"zabbix:{name}", firing=True,
                       alert={"title": "down"}, status=AlertStatus.PROCESSED, incident_id=incident.id)
    gate = ApprovalGate(flow_run_id=f"run-{name}", gate_key="approve", subject=f"{name} change",
                        eligible_roles=[r.value for r in RoleKey], quorum=50, options=["approve", "reject"],
                        veto_options=[], contract_id=contract.id, record_type="change_request",
                        record_id=str(change.id))
    review = QuarterlyReview(contract_id=contract.id, year=2026, quarter=3, html="<p>review</p>")
    session.add_all([alert, gate, review])
    session.flush()
    note = Notification(dedupe_key=f"gate:{gate.id}:requested", event="gate.requested", recipient="tag:engineer",
                        title=gate.subject, body="decide", gate_id=gate.id, status=NotificationStatus.DEAD)
    measure = ImprovementMeasure(review_id=review.id, contract_id=contract.id, target="timely_response_rate",
                                 finding="late", measure="more staff", owner_role=RoleKey.PROJECT_MANAGER,
                                 due_on=date(2026, 12, 1))
    complaint = Complaint(contract_id=contract.id, subject=f"{name} complaint")
    risk = Risk(contract_id=contract.id, title=f"{name} risk", owner_role=RoleKey.PROJECT_MANAGER)
    shift = OnCallShift(role_key=RoleKey.ENGINEER, person_id=requester, contract_id=contract.id,
                        starts_at=utcnow(), ends_at=utcnow() + timedelta(days=1))
    session.add_all([note, measure, complaint, risk, shift])
    session.flush()
    t.ids = dict(org=org.id, contract=contract.id, ci=ci.id, incident=incident.id, change=change.id,
                 alert=alert.id, gate=gate.id, review=review.id, measure=measure.id, complaint=complaint.id,
                 risk=risk.id, shift=shift.id, notification=note.id)
    session.commit()
    return t


def internal(session: Session, author: int) -> Tenant:
    """Provider records tied to no contract: an unassigned incident, a spare CI, a template, an inspection."""
    t = Tenant()
    incident = Incident(title="unassigned", source=Source.WEBHOOK)
    ci = ConfigurationItem(name="spare-switch", ci_type=CIType.SWITCH)
    template = ChangeTemplate(name="restart nginx", standard_kind="service_restart", created_by=author,
                              steps=[{"name": "restart", "run": "systemctl restart nginx"}])
    plan = InspectionPlan(name="daily", spec={"name": "daily", "cron": "0 9 * * *", "checks": [
        {"key": "ping", "name": "reachable", "probe": "ping"}]})
    session.add_all([incident, ci, template, plan])
    session.flush()
    run = InspectionRun(plan_id=plan.id)
    alert = InboxAlert(actor="monitor", source=Source.WEBHOOK, fingerprint="zabbix:unmatched", firing=True,
                       alert={"title": "pending"}, status=AlertStatus.FAILED, error="no CI")
    session.add_all([run, alert])
    session.flush()
    session.add(InspectionResult(run_id=run.id, ci_id=ci.id, check_key="ping", probe="ping",
                                 status=CheckStatus.OK))
    t.ids = dict(incident=incident.id, ci=ci.id, template=template.id, plan=plan.id, run=run.id, alert=alert.id)
    session.commit()
    return t


def team_member(session: Session, contract_id: int, person_id: int) -> None:
    """Put a person on a contract's team."""
    session.add(ContractMember(contract_id=contract_id, person_id=person_id, role_key=RoleKey.ENGINEER.value))
    session.commit()
