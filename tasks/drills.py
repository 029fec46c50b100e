"""Tasks of the emergency drill: start and notify, gates, end, report, sign-off; the incident hook that stops drills."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from sqlmodel import col, select

from config.settings import get_settings
from itss.runs import resume
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.drills.service import record_abandoned, record_end, record_signoff, start_run, terminate_for_incident
from models.drills.tables import DrillEvaluation, DrillPlan, DrillRun, DrillStep
from models.gates.tables import GateSpec
from models.incidents.tables import Incident
from notifications.outbox import enqueue
from notifications.render import render, render_html
from notifications.sender import deliver
from tasks.gates import GateOutcome


def _run(session, run_id: int) -> DrillRun:
    run = session.get(DrillRun, run_id)
    if run is None:
        raise ValueError(f"no drill run {run_id}")
    return run


def _roles(plan: DrillPlan) -> list[RoleKey]:
    roles = {RoleKey(p["role"]) for p in plan.participants} | {RoleKey.PROJECT_MANAGER}
    return sorted(roles)


def _tell(session, plan: DrillPlan, run: DrillRun, event: str, text: str) -> list[int]:
    title, body = render("generic", title=f"[drill] {plan.name}: {event}", body=text, link=None)
    rows = enqueue(session, event=f"drill.{event}", title=title, body=body, roles=_roles(plan),
                   dedupe_prefix=f"drill:{run.id}:{event}")
    return [stored_id(r) for r in rows]


@task(name="start-drill", retries=2, retry_delay_seconds=2)
def start_drill(plan_id: int, flow_run_id: str) -> int:
    """Record the drill's start (once) and notify every participant role."""
    with session_scope() as session:
        run, _ = start_run(session, plan_id=plan_id, flow_run_id=flow_run_id,
                           retention_years=get_settings().drill_retention_years)
        plan = must_get(session, DrillPlan, plan_id)
        ids = _tell(session, plan, run, "started",
                    f"Drill of {plan.emergency_plan} starts now. Scenario: {plan.scenario}. "
                    f"Record your steps: POST /drills/runs/{run.id}/steps")
        run_id = stored_id(run)
    deliver(ids)
    return run_id


def _gate(run_id: int, key: str, subject: str, details: str, roles: list[RoleKey], options: list[str]) -> GateSpec:
    return GateSpec(key=key, subject=subject, details_md=details, eligible_roles=roles, options=options,
                    veto_options=[], record_type="drill_run", record_id=str(run_id))


def end_gate(run_id: int) -> GateSpec:
    """The drill lead ends the drill; a real incident decides it 'terminated' first."""
    return _gate(run_id, "drill-end", f"End drill {run_id}",
                 "Choose **end** when every step of the scenario is done.",
                 [RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER], ["end", "abandon"])


def evaluation_gate(run_id: int, round_: int) -> GateSpec:
    """Decided by submitting the evaluation form (POST /drills/runs/{id}/evaluation)."""
    return _gate(run_id, f"drill-evaluate-{round_}", f"Evaluate drill {run_id}",
                 f"Fill the evaluation form: POST /drills/runs/{run_id}/evaluation",
                 [RoleKey.PROJECT_MANAGER, RoleKey.ENGINEER], ["evaluated", "skip"])


def signoff_gate(run_id: int, round_: int) -> GateSpec:
    """The project manager signs the drill's summary off, or sends it back for re-evaluation."""
    return GateSpec(key=f"drill-signoff-{round_}", subject=f"Sign off drill {run_id}",
                    details_md=f"Summary: /drills/runs/{run_id}/report", eligible_roles=[RoleKey.PROJECT_MANAGER],
                    record_type="drill_run", record_id=str(run_id))


@task(name="record-drill-end")
def end_drill(run_id: int, outcome: GateOutcome) -> str:
    """The drill ended (or was terminated): the end goes on the log; everyone is told of a termination."""
    ids: list[int] = []
    with session_scope() as session:
        run = _run(session, run_id)
        plan = must_get(session, DrillPlan, run.plan_id)
        if outcome.outcome == "terminated":
            ids = _tell(session, plan, run, "terminated", f"Drill terminated at once: {run.termination_reason}")
        elif outcome.outcome == "abandon":
            record_abandoned(session, run, actor=outcome.decider, at=outcome.decided_at,
                             reason="; ".join(outcome.comments))
        else:
            record_end(session, run, actor=outcome.decider, at=outcome.decided_at)
        status = run.status.value
    deliver(ids)
    return status


@task(name="check-drill-evaluation")
def evaluated(run_id: int) -> bool:
    """True when the evaluation form is in."""
    with session_scope() as session:
        return session.exec(select(DrillEvaluation.id).where(DrillEvaluation.run_id == run_id)).first() is not None


@task(name="write-drill-report")
def write_report(run_id: int) -> str:
    """The summary report (HTML, kept with the run) and a Prefect artifact of it."""
    with session_scope() as session:
        run = _run(session, run_id)
        plan = must_get(session, DrillPlan, run.plan_id)
        steps = list(session.exec(select(DrillStep).where(col(DrillStep.run_id) == run_id).order_by(col(DrillStep.at),
                                                                                              col(DrillStep.id))))
        evaluation = session.exec(select(DrillEvaluation).where(DrillEvaluation.run_id == run_id)).first()
        run.summary_html = render_html("drill_report", plan=plan, run=run, steps=steps, evaluation=evaluation)
        session.add(run)
        lines = [f"# 应急演练总结报告 — {plan.name}", "", f"Status: **{run.status.value}**", "",
                 "| time | actor | what | detail |", "|---|---|---|---|"]
        lines += [f"| {s.at.isoformat(timespec='seconds')} | {s.actor} | {s.kind} | {s.detail.replace('|', '/')} |"
                  for s in steps]
        if evaluation is not None:
            lines += ["", f"Objectives met: {evaluation.objectives_met}; response {evaluation.response_minutes} min "
                          f"(SLA {evaluation.sla_response_minutes} min); problems: {evaluation.problems_found}"]
        markdown = "\n".join(lines)
    create_markdown_artifact(markdown=markdown, key=f"drill-{run_id}-summary",
                             description=f"Drill summary, run {run_id}")
    return markdown


@task(name="record-drill-signoff")
def sign_off(run_id: int, outcome: GateOutcome) -> None:
    """The PM's sign-off on the run's record."""
    with session_scope() as session:
        record_signoff(session, _run(session, run_id), person_id=outcome.voters[-1] if outcome.voters else None,
                       actor=outcome.decider)


@task(name="stop-drills", retries=2, retry_delay_seconds=2)
def stop_drills(incident_id: int) -> list[int]:
    """A real incident terminates the drills it hits at once: recorded, everyone told, their runs resumed."""
    with session_scope() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return []
        stopped = terminate_for_incident(session, incident, actor=f"incident:{incident_id}")
        ids: list[int] = []
        for run, _ in stopped:
            plan = must_get(session, DrillPlan, run.plan_id)
            ids += _tell(session, plan, run, "terminated", f"Drill terminated at once: {run.termination_reason}")
        gates = [(g.flow_run_id, g.id, g.decision_token) for _, g in stopped if g is not None]
        run_ids = [stored_id(r) for r, _ in stopped]
    deliver(ids)
    for flow_run_id, gate_id, token in gates:  # if Prefect misses this, the sweeper resumes decided gates
        if not resume(flow_run_id, {"gate_id": gate_id, "token": token}, within=10):
            get_run_logger().warning("drill run %s not resumed yet; the sweeper retries", flow_run_id)
    if run_ids:
        get_run_logger().info("incident %s terminated drills %s at %s", incident_id, run_ids, utcnow())
    return run_ids
