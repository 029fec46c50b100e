"""The emergency response summary report (《应急响应工作总结报告》) as Markdown."""

from __future__ import annotations

from sqlmodel import Session, col, select

from config.settings import get_settings
from models.incidents.clocks import clock_states
from models.incidents.tables import Incident, IncidentEvent
from notifications.render import local_time


def _local(value) -> str:
    return local_time(value, zone=False)  # the report states its timezone once, in the header


def summary_markdown(session: Session, incident_id: int) -> str:
    """Timeline, SLA figures, cause, actions and improvements of one incident."""
    incident = session.get(Incident, incident_id)
    assert incident is not None
    lines = [
        f"# 应急响应工作总结报告 — Emergency response summary #{incident.id}",
        "",
        f"**{incident.title}** · level **{incident.level.value}** · {incident.fault_class.value} fault · "
        f"status {incident.status.value}" + (" · unknown CI" if incident.unknown_ci else ""),
        "",
        f"Reported {_local(incident.reported_at)} ({incident.source.value}); "
        f"closed {_local(incident.closed_at)} {'with' if incident.consented else 'without'} the requester's consent. "
        f"Times are {get_settings().timezone}.",
        "",
        "## SLA",
        "",
        "| measure | target | calendar | started | stopped | elapsed | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for clock in clock_states(session, incident):
        if clock.started_at is None:
            result = "not started"
        elif clock.error:
            result = clock.error
        else:
            result = "breached" if clock.breached else "met"
        if not incident.sla_applicable:
            result += " (transition phase: no SLA commitment)"
        lines.append(f"| {clock.measure.value} | {clock.target_minutes} min | {clock.calendar.value} | "
                     f"{_local(clock.started_at)} | {_local(clock.stopped_at)} | {clock.elapsed_minutes:.1f} min | "
                     f"{result} |")
    lines += ["", "## Timeline", "", "| when | who | what | detail |", "|---|---|---|---|"]
    events = session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                          .order_by(col(IncidentEvent.at), col(IncidentEvent.id)))
    for event in events:
        lines.append(f"| {_local(event.at)} | {event.actor} | {event.kind} | {event.detail.replace('|', '/')} |")
    lines += ["", "## Cause", "", incident.cause or "(not recorded)", "", "## Actions", "",
              incident.actions or "(not recorded)", "", "## Improvements", "", incident.improvements or "(none)", ""]
    return "\n".join(lines)
