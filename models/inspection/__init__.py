"""Routine inspection: plans, runs and results (`tables`), a plan as a validated document (`plan`), the
services (`service`) and how many runs a cron schedule plans in a period (`planned_runs`)."""
