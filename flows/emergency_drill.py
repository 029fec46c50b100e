"""Emergency drill (001 §2.3.2.3): start, execute, end — or terminate at once on a real emergency —
then the evaluation form, the summary report and the project manager's sign-off."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.drills import (
    end_drill,
    end_gate,
    evaluated,
    evaluation_gate,
    sign_off,
    signoff_gate,
    start_drill,
    write_report,
)
from tasks.gates import request_approval


@flow(name="emergency_drill")
def emergency_drill(plan_id: int) -> str:
    """Notify participants and start; steps are logged through the API; end, evaluate, report, sign off."""
    run_id = start_drill(plan_id, str(flow_run.get_id()))
    end = request_approval(end_gate(run_id))
    status = end_drill(run_id, end)
    if status == "terminated" or end.outcome == "abandon":
        write_report(run_id)
        return status

    round_ = 0
    while True:
        request_approval(evaluation_gate(run_id, round_))
        if not evaluated(run_id):  # decided without the form: ask again
            round_ += 1
            continue
        write_report(run_id)
        signoff = request_approval(signoff_gate(run_id, round_))
        if signoff.approved:
            sign_off(run_id, signoff)
            return "signed_off"
        round_ += 1
