"""Routine inspection: plans, runs and results (`tables`), a plan as a validated document (`plan`), the
services (`service`) and how many runs a cron schedule plans in a period (`planned_runs`)."""

# The folder's public names; inside models/ import from the module (tables, service) itself.
from models.inspection.plan import (  # noqa: F401
    KEY,
    CheckItem,
    ExceptionRule,
    PlanSpec,
    Scope,
    parse_yaml,
    scope_query,
    targets_of,
)
from models.inspection.planned_runs import (  # noqa: F401
    planned_runs,
)
from models.inspection.probes import (  # noqa: F401
    NUMBER,
    PROBE_SPECS,
    DatabaseParams,
    HttpParams,
    PingParams,
    ProbeParams,
    ProbeSpec,
    SnmpParams,
    SshParams,
    TcpParams,
    TlsParams,
)
from models.inspection.service import (  # noqa: F401
    COMMAND_PROBES,
    PlanError,
    close_run,
    open_run,
    plan_by_ref,
    runs_commands,
    save_plan,
    set_active,
    store_results,
)
from models.inspection.tables import (  # noqa: F401
    CheckStatus,
    InspectionPlan,
    InspectionResult,
    InspectionRun,
    RunStatus,
)

__all__ = [
    "COMMAND_PROBES",
    "CheckItem",
    "CheckStatus",
    "DatabaseParams",
    "ExceptionRule",
    "HttpParams",
    "InspectionPlan",
    "InspectionResult",
    "InspectionRun",
    "KEY",
    "NUMBER",
    "PROBE_SPECS",
    "PingParams",
    "PlanError",
    "PlanSpec",
    "ProbeParams",
    "ProbeSpec",
    "RunStatus",
    "Scope",
    "SnmpParams",
    "SshParams",
    "TcpParams",
    "TlsParams",
    "close_run",
    "open_run",
    "parse_yaml",
    "plan_by_ref",
    "planned_runs",
    "runs_commands",
    "save_plan",
    "scope_query",
    "set_active",
    "store_results",
    "targets_of",
]
