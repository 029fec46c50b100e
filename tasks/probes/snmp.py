"""SNMP GET for network devices (interface status, CPU), with pysnmp."""

from __future__ import annotations

import os

from pydantic import Field
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    UdpTransportTarget,
    get_cmd,
)

from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, ProbeParams, Reading, Target, probe


class SnmpParams(ProbeParams):
    oid: str = Field(pattern=r"^\.?\d+(\.\d+)+$", examples=["1.3.6.1.2.1.2.2.1.8.1"])
    port: int = Field(default=161, ge=1, le=65535)
    community_env: str | None = Field(default=None, description="env var holding the community string")
    community: str = Field(default="public", description="used when community_env is not given")
    expect: float | None = Field(default=None, description="value the OID must have (ifOperStatus up = 1)")


@probe("snmp_get", SnmpParams)
async def snmp_get(target: Target, params: SnmpParams, ctx: ProbeContext) -> Reading:
    """GET one OID (SNMP v2c); the value is numeric, or compared with `expect`."""
    community = os.environ.get(params.community_env, "") if params.community_env else params.community
    transport = await UdpTransportTarget.create((target.host, params.port), timeout=2, retries=0)
    error, status, index, binds = await get_cmd(ctx.snmp_engine(), CommunityData(community, mpModel=1), transport,
                                                ContextData(), ObjectType(ObjectIdentity(params.oid)))
    if error:
        return Reading(None, f"SNMP: {error}", CheckStatus.ERROR)
    if status:
        return Reading(None, f"SNMP: {status.prettyPrint()} at {index}", CheckStatus.ERROR)
    raw = binds[0][1]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return Reading(None, f"{params.oid} = {raw.prettyPrint()} is not a number", CheckStatus.ERROR)
    if params.expect is not None and value != params.expect:
        return Reading(value, f"{params.oid} = {value:g}, expected {params.expect:g}", CheckStatus.CRITICAL)
    return Reading(value, f"{params.oid} = {value:g}")
