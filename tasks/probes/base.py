"""The probe contract: a registry of async probes, thresholds, timeouts and structured results.

A probe measures one thing on one target and returns a `Reading` (a value, and a status only when
the measurement itself decides it: a refused port is critical whatever the thresholds). `run_check`
adds the timeout, the thresholds and the timing, and turns any exception into an `error` result, so
a new probe type is one decorated function in this package; the flow never changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from models.inspection.probes import PROBE_SPECS, ProbeParams
from models.inspection.tables import CheckStatus


@dataclass(frozen=True)
class Target:
    """A CI as a probe sees it."""

    ci_id: int
    name: str
    host: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reading:
    """What a probe measured; `status` only when the measurement alone decides it."""

    value: float | None
    message: str = ""
    status: CheckStatus | None = None


@dataclass
class ProbeResult:
    """One check on one target: status, measured value, the threshold applied, message, duration."""

    status: CheckStatus
    value: float | None
    threshold: str
    message: str
    duration_ms: float


class ProbeContext:
    """Resources shared by every probe of a run: one HTTP client per TLS mode and one SNMP engine,
    not one per probe (each costs far more to build than a loopback check takes)."""

    def __init__(self) -> None:
        self._http: dict[bool, httpx.AsyncClient] = {}
        self._snmp: Any = None

    def snmp_engine(self) -> Any:
        if self._snmp is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine  # only runs with network devices pay for it

            self._snmp = SnmpEngine()
        return self._snmp

    def http(self, verify: bool) -> httpx.AsyncClient:
        if verify not in self._http:
            self._http[verify] = httpx.AsyncClient(verify=verify, follow_redirects=False,
                                                   limits=httpx.Limits(max_connections=None))
        return self._http[verify]

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()
        if self._snmp is not None:
            self._snmp.close_dispatcher()


ProbeFn = Callable[[Target, Any, ProbeContext], Awaitable[Reading]]


@dataclass(frozen=True)
class ProbeType:
    name: str
    fn: ProbeFn
    params: type[ProbeParams]
    direction: Literal["above", "below"]  # which side of a threshold is bad
    unit: str


PROBES: dict[str, ProbeType] = {}


def probe(name: str) -> Callable[[ProbeFn], ProbeFn]:
    """Register an async probe as the implementation of `name` in the plans' catalogue (PROBE_SPECS)."""
    spec = PROBE_SPECS[name]  # a KeyError here: add the probe's spec to models/inspection/probes.py first

    def register(fn: ProbeFn) -> ProbeFn:
        PROBES[name] = ProbeType(name, fn, spec.params, spec.direction, spec.unit)
        return fn

    return register


def judge(value: float | None, warning: float | None, critical: float | None, direction: str) -> CheckStatus:
    """The status a value earns against warning/critical thresholds."""
    if value is None:
        return CheckStatus.OK
    worse = (lambda v, t: v >= t) if direction == "above" else (lambda v, t: v <= t)
    if critical is not None and worse(value, critical):
        return CheckStatus.CRITICAL
    if warning is not None and worse(value, warning):
        return CheckStatus.WARNING
    return CheckStatus.OK


def describe_threshold(kind: ProbeType, warning: float | None, critical: float | None) -> str:
    """How a threshold reads in reports: 'warn ≥ 80 %, crit ≥ 90 %'."""
    sign = "≥" if kind.direction == "above" else "≤"
    unit = f" {kind.unit}" if kind.unit else ""
    parts = [f"{label} {sign} {limit:g}{unit}" for label, limit in (("warn", warning), ("crit", critical))
             if limit is not None]
    return ", ".join(parts)


async def run_check(kind: ProbeType, params: ProbeParams, target: Target, ctx: ProbeContext, *,
                    timeout: float, warning: float | None = None, critical: float | None = None) -> ProbeResult:
    """Run one probe under its timeout; never raises (a failure to measure is an `error` result)."""
    threshold = describe_threshold(kind, warning, critical)
    started = time.perf_counter()
    try:
        reading = await asyncio.wait_for(kind.fn(target, params, ctx), timeout)
    except TimeoutError:
        return ProbeResult(CheckStatus.ERROR, None, threshold, f"no answer within {timeout:g} s (timed out)",
                           (time.perf_counter() - started) * 1000)
    except Exception as exc:  # a probe's failure is a result, never the run's failure
        message = f"{type(exc).__name__}: {exc}"[:1000]
        return ProbeResult(CheckStatus.ERROR, None, threshold, message, (time.perf_counter() - started) * 1000)
    status = reading.status or judge(reading.value, warning, critical, kind.direction)
    return ProbeResult(status, reading.value, threshold, reading.message[:1000],
                       (time.perf_counter() - started) * 1000)
