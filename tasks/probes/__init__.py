"""Inspection probes. Importing this package registers every probe type in `PROBES`."""

from tasks.probes import database, network, snmp, ssh  # noqa: F401  (registration)
from tasks.probes.base import PROBES, ProbeContext, ProbeResult, Target, run_check

__all__ = ["PROBES", "ProbeContext", "ProbeResult", "Target", "run_check"]
