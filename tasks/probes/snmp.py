"""SNMP GET for network devices (interface status, CPU), with pysnmp."""

from __future__ import annotations

import os

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    UdpTransportTarget,
    get_cmd,
)

from models.inspection.probes import SnmpParams
from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, Reading, Target, probe


@probe("snmp_get")
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
