"""The quarterly review: its records (`tables`), the figures (`metrics`, `extra_metrics`), the targets and
what an unmet one asks of whom (`targets`), and access to archived deliverables (`service`)."""
