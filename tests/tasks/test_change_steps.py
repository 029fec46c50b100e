"""The step log: a step left running by a dead process is never run again; completed steps are skipped."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from models.changes.tables import ChangeRequest, ChangeStatus, ChangeStep, ChangeType, StepPhase, StepStatus
from models.directory.roles import RoleKey
from models.directory.service import create_person
from tasks.change_steps import run_steps


def change_with_steps(session: Session, marker: Path) -> int:
    person = create_person(session, name="eng-steps", roles=[RoleKey.ENGINEER], actor="test")
    change = ChangeRequest(title="two steps", change_type=ChangeType.NORMAL, requested_by=person.id,
                           status=ChangeStatus.IMPLEMENTING,
                           steps=[{"name": "first", "command": f"echo first >> {marker}"},
                                  {"name": "second", "command": f"echo second >> {marker}"}])
    session.add(change)
    session.commit()
    return int(change.id)


def test_a_step_its_process_died_in_is_interrupted_not_rerun(session: Session, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    change_id = change_with_steps(session, marker)
    session.add(ChangeStep(change_id=change_id, phase=StepPhase.DEPLOY, position=0, name="first", kind="shell"))
    session.commit()  # written before the step ran; the process died before its result

    progress = run_steps.fn(change_id, StepPhase.DEPLOY, "retry-run")
    assert not progress.ok and progress.step_name == "first" and "interrupted" in progress.failure
    assert not marker.exists()  # neither step ran: the flow goes on to the rollback
    session.expire_all()
    row = session.exec(select(ChangeStep).where(ChangeStep.change_id == change_id)).one()
    assert row.status == StepStatus.INTERRUPTED and "not run again" in row.output


def test_completed_steps_are_skipped(session: Session, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    change_id = change_with_steps(session, marker)
    assert run_steps.fn(change_id, StepPhase.DEPLOY, "run-1").ok
    assert run_steps.fn(change_id, StepPhase.DEPLOY, "run-2").ok
    assert marker.read_text().split() == ["first", "second"]
