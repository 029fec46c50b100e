"""The quarterly review: its records (`tables`), the figures (`metrics`, `extra_metrics`), the targets and
what an unmet one asks of whom (`targets`), and access to archived deliverables (`service`)."""

# The folder's public names; inside models/ import from the module (tables, service) itself.
from models.review.extra_metrics import (  # noqa: F401
    DONE,
    drill_metrics,
    extra_metrics,
    knowledge_metrics,
    problem_metrics,
)
from models.review.metrics import (  # noqa: F401
    IMPLEMENTED,
    MEASURES,
    OPEN,
    change_metrics_for,
    compliance_metrics,
    incident_metrics,
    inspection_metrics,
    previous_quarter,
    quarter_bounds,
    quarter_metrics,
    risk_metrics,
    satisfaction_metrics,
)
from models.review.service import (  # noqa: F401
    active_grant,
)
from models.review.tables import (  # noqa: F401
    FORWARD,
    ArchiveAccess,
    Complaint,
    ImprovementMeasure,
    QuarterlyReview,
    ReviewStatus,
    Risk,
    RiskStatus,
    Satisfaction,
    moves_forward,
)
from models.review.targets import (  # noqa: F401
    HEADLINES,
    TARGETS,
    Target,
    evaluate,
    trends,
)

__all__ = [
    "ArchiveAccess",
    "Complaint",
    "DONE",
    "FORWARD",
    "HEADLINES",
    "IMPLEMENTED",
    "ImprovementMeasure",
    "MEASURES",
    "OPEN",
    "QuarterlyReview",
    "ReviewStatus",
    "Risk",
    "RiskStatus",
    "Satisfaction",
    "TARGETS",
    "Target",
    "active_grant",
    "change_metrics_for",
    "compliance_metrics",
    "drill_metrics",
    "evaluate",
    "extra_metrics",
    "incident_metrics",
    "inspection_metrics",
    "knowledge_metrics",
    "moves_forward",
    "previous_quarter",
    "problem_metrics",
    "quarter_bounds",
    "quarter_metrics",
    "risk_metrics",
    "satisfaction_metrics",
    "trends",
]
