"""The one configuration object: every setting comes from ITSS_* variables or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for the API, the flows and the CLI alike."""

    model_config = SettingsConfigDict(env_prefix="ITSS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".itss"),
        description="Holds the SQLite files of the project database and the embedded Prefect server.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the project database; default: SQLite under data_dir.",
    )
    timezone: str = "Asia/Shanghai"
    business_hours: str = Field(
        default="09:00-12:00,13:00-18:00",
        description="5x8 working periods on a working day, comma-separated HH:MM-HH:MM.",
    )
    statutory_calendar_from_library: bool = Field(
        default=True,
        description="Use the `holidays` library's published State Council schedule for years nobody entered "
                    "(false: only entered years count; others run on the provisional calendar).",
    )
    alertmanager_fetch_hosts: str = Field(
        default="127.0.0.1,localhost,::1",
        description="Hosts (comma-separated) of Alertmanagers whose API v2 the API may ask for alerts a "
                    "notification left out (max_alerts); others are never contacted.",
    )
    improvement_due_days: int = Field(
        default=30, ge=1, le=365, description="Improvement measures of a review fall due this many days after "
                                               "it is compiled.")
    apprise_config: Path | None = Field(
        default=None, description="Apprise YAML config with one tag per ITSS role."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    prefect_port: int = 4200
    public_base_url: str = Field(
        default="",
        description="Base of the links inside notifications (the approval page lives under it); "
                    "default: this host's API address and port.",
    )
    dispatch_per_second: float = Field(
        default=10.0, gt=0,
        description="At most this many emergency-response runs started a second by one API process: in an "
                    "alert storm the Prefect server, on the same machine, would otherwise starve the API.",
    )
    cab_quorum: int = Field(default=2, ge=1, description="CAB members who must approve a normal change.")
    ecab_quorum: int = Field(default=2, ge=1, description="Leaders (both sides) who must approve an emergency change.")
    self_token_days: int = Field(
        default=90, ge=1, le=3650,
        description="Lifetime of a token a person mints for themselves (POST /people/{own id}/tokens), and the "
        "longest they may ask for: a stolen token cannot mint a lasting one. Admins' tokens for others may not expire.",
    )
    freeze_statutory_holidays: bool = Field(
        default=True, description="No changes but emergency ones on Chinese statutory holidays.")
    sweep_interval_seconds: int = Field(
        default=30, gt=0, description="The gate_sweeper schedule's interval in prefect.yaml; /health calls the "
                                      "system degraded after three intervals without a completed sweep.")
    pulse_enabled: bool = Field(
        default=True, description="The API watches the system's pulse (dead-man's switch on the sweeper).")
    runner_limit: int = Field(
        default=4, ge=1,
        description="At most this many flow-run processes at once in `itss serve` (the runner of `itss up`); more "
                    "runs wait as Scheduled. Sized for a small machine: each process costs ~150 MB and a CPU burst.")
    flow_heartbeat_seconds: int = Field(
        default=30, ge=30,
        description="A running flow sends a heartbeat this often (PREFECT_FLOWS_HEARTBEAT_FREQUENCY of `itss up`'s "
                    "runner; set the same on workers).")
    run_heartbeat_timeout_seconds: int = Field(
        default=150, ge=60,
        description="A Running flow run without a heartbeat this long is dead (its process or host vanished): the "
                    "sweeper retries it.")
    run_stuck_seconds: int = Field(
        default=120, ge=30,
        description="A flow run Pending (Submitting) this long never got its process: the sweeper retries it.")
    max_alerts_per_request: int = Field(
        default=1000, ge=1, description="Alerts in one webhook post; a bigger post is refused with 413.")
    max_alert_body_bytes: int = Field(
        default=2_000_000, ge=1024, description="Bytes of one alert webhook body; a bigger one is refused with 413.")
    max_import_rows: int = Field(
        default=20_000, ge=1, description="Rows of one incident import; a bigger one is refused with 413.")
    max_import_bytes: int = Field(
        default=10_000_000, ge=1024, description="Bytes of one incident import; a bigger one is refused with 413.")
    problem_quiet_days: int = Field(
        default=30, ge=0,
        description="Days without recurrence after the fixing change succeeded, before a problem closes.",
    )
    drill_retention_years: int = Field(
        default=6, ge=1, description="Drill records are kept this long (001 §2.3.2.3: six years), then purged.")
    knowledge_threshold: int = Field(
        default=100, ge=0, description="Published knowledge-base articles the acceptance asks for (001 §3.5.3).")
    signin_link_minutes: float = Field(
        default=15, gt=0, description="How long a one-time sign-in link of the approval page stays valid.")
    session_hours: float = Field(default=12, gt=0, description="How long an approval-page session lasts.")
    # Signs gate decisions so a resume that did not come through the API cannot pass a gate.
    gate_secret: SecretStr | None = None
    # Encrypts secrets kept in the database (notification URLs); default: a key in data_dir/secrets.
    encryption_key: SecretStr | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from exc
        return value

    @model_validator(mode="after")
    def _links_follow_the_api(self) -> Settings:
        # Unset, links point at this API as configured: a changed ITSS_API_PORT must not break them.
        if not self.public_base_url:
            host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
            host = f"[{host}]" if ":" in host else host
            self.public_base_url = f"http://{host}:{self.api_port}"
        return self

    @property
    def resolved_database_url(self) -> str:
        """The project database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'itss.db').resolve()}"

    @property
    def prefect_home(self) -> Path:
        """Where the embedded Prefect server keeps its own SQLite database."""
        return (self.data_dir / "prefect").resolve()

    @property
    def tz(self) -> ZoneInfo:
        """The operating timezone as a ZoneInfo."""
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
