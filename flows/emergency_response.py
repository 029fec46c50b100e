"""Emergency response (seeds 000 §9, 001 §2.3.2): from the report to a closed incident, on the clock."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from itss.run_names import run_name
from models.incidents.tables import IncidentStatus
from tasks.drills import stop_drills
from tasks.gates import request_approval
from tasks.incidents import (
    ack_gate,
    closing_gate,
    continuity_gate,
    draft_knowledge,
    escalation_gate,
    notify_by_level,
    open_ticket,
    record_problems,
    record_step,
    work_gate,
    write_summary,
)
from tasks.knowledge import link_knowledge


@flow(name="emergency_response", flow_run_name=run_name("emergency_response", "incident-{incident_id}"))
def emergency_response(incident_id: int) -> str:
    """Ticket, notify by level, acknowledge, restore (escalating on approval), check, consent, report."""
    ticket = open_ticket(incident_id, str(flow_run.get_id()))
    notify_by_level(incident_id)
    stop_drills(incident_id)  # a real emergency on a drilled CI (or Level I/II) ends any drill at once
    hints = link_knowledge(incident_id)

    ack = request_approval(ack_gate(ticket, hints))
    record_step(incident_id, "acknowledged", ack, IncidentStatus.ACKNOWLEDGED)

    round_ = 0
    while True:
        work = request_approval(work_gate(ticket, round_))
        if work.outcome == "escalate":
            requester = work.voters[-1] if work.voters else None
            approval = request_approval(escalation_gate(ticket, round_, requester))
            kind = "escalated" if approval.approved else "escalation_refused"  # rejected or expired
            record_step(incident_id, kind, approval)
            if approval.approved:
                notify_by_level(incident_id, event=f"escalated-{round_}")
            round_ += 1
            continue
        record_step(incident_id, "resolved", work, IncidentStatus.RESOLVED)

        check = request_approval(continuity_gate(ticket, round_))
        if check.outcome == "relapsed":
            record_step(incident_id, "reopened", check, IncidentStatus.ACKNOWLEDGED)
            round_ += 1
            continue
        record_step(incident_id, "continuity_confirmed", check)

        consent = request_approval(closing_gate(ticket, f"{round_}"))
        asks = 0
        while consent.outcome == "expired":  # no answer within a week: ask again, tell the PM
            asks += 1
            record_step(incident_id, "consent_timeout", consent)
            notify_by_level(incident_id, event=f"consent-timeout-{round_}-{asks}")
            consent = request_approval(closing_gate(ticket, f"{round_}-{asks}"))
        if consent.outcome == "consent":
            record_step(incident_id, "consented", consent)
            break
        record_step(incident_id, "reopened", consent, IncidentStatus.ACKNOWLEDGED)  # the requester refused
        round_ += 1

    record_step(incident_id, "closed", consent, IncidentStatus.CLOSED)
    report = write_summary(incident_id)
    draft_knowledge(incident_id)
    record_problems(incident_id)
    return report
