"""The probe vocabulary of inspection plans: each probe type's name, parameters, bad side and unit.

A plan is validated against this catalogue where it is parsed (the API, the CLI, the demo); the probes
themselves (`tasks/probes/`) register their implementation under the same names, and a test checks that
every name here has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NUMBER = r"(-?\d+(?:\.\d+)?)"  # the default pattern of a command's output: its first number


class ProbeParams(BaseModel):
    """Base of every probe's parameters: unknown keys are an error naming the key."""

    model_config = ConfigDict(extra="forbid")


class TcpParams(ProbeParams):
    port: int = Field(ge=1, le=65535)


class HttpParams(ProbeParams):
    url: str = Field(default="http://{host}/", description="'{host}' is replaced by the CI's IP or hostname")
    expect_status: int = Field(default=200, ge=100, le=599)
    keyword: str | None = Field(default=None, description="text the body must contain")
    verify_tls: bool = True


class TlsParams(ProbeParams):
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = Field(default=None, description="SNI name; the CI's hostname by default")


class PingParams(ProbeParams):
    count: int = Field(default=3, ge=1, le=20)


class SshParams(ProbeParams):
    command: str = Field(min_length=1, examples=["df --output=pcent / | tail -1"])
    pattern: str = Field(default=NUMBER, description="regex whose first group is the value")
    username: str = Field(default="itss", min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    key_file: str | None = Field(default=None, description="private key path on the worker")
    password_env: str | None = Field(default=None, description="name of the env var holding the password")
    known_hosts: str | None = Field(default="~/.ssh/known_hosts",
                                    description="known_hosts path; null skips host-key checks (lab use only)")
    unit: str = ""


class SnmpParams(ProbeParams):
    oid: str = Field(pattern=r"^\.?\d+(\.\d+)+$", examples=["1.3.6.1.2.1.2.2.1.8.1"])
    port: int = Field(default=161, ge=1, le=65535)
    community_env: str | None = Field(default=None, description="env var holding the community string")
    community: str = Field(default="public", description="used when community_env is not given")
    expect: float | None = Field(default=None, description="value the OID must have (ifOperStatus up = 1)")


class DatabaseParams(ProbeParams):
    url_env: str = Field(min_length=1, description="env var holding the SQLAlchemy URL (it carries a password)")


@dataclass(frozen=True)
class ProbeSpec:
    """What a plan may ask of one probe type."""

    params: type[ProbeParams]
    direction: Literal["above", "below"] = "above"  # which side of a threshold is bad
    unit: str = ""


PROBE_SPECS: dict[str, ProbeSpec] = {
    "tcp": ProbeSpec(TcpParams, unit="ms"),
    "http": ProbeSpec(HttpParams, unit="ms"),
    "tls_expiry": ProbeSpec(TlsParams, direction="below", unit="days"),
    "ping": ProbeSpec(PingParams, unit="ms"),
    "ssh_command": ProbeSpec(SshParams),
    "snmp_get": ProbeSpec(SnmpParams),
    "db_connect": ProbeSpec(DatabaseParams, unit="ms"),
}
