"""The one configuration object: every setting comes from ITSS_* variables or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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
    apprise_config: Path | None = Field(
        default=None, description="Apprise YAML config with one tag per ITSS role."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    prefect_port: int = 4200
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base of the links inside notifications (the approval page lives under it).",
    )
    dispatch_per_second: float = Field(
        default=10.0, gt=0,
        description="At most this many emergency-response runs started a second by one API process: in an "
                    "alert storm the Prefect server, on the same machine, would otherwise starve the API.",
    )
    cab_quorum: int = Field(default=2, ge=1, description="CAB members who must approve a normal change.")
    ecab_quorum: int = Field(default=2, ge=1, description="Leaders (both sides) who must approve an emergency change.")
    freeze_statutory_holidays: bool = Field(
        default=True, description="No changes but emergency ones on Chinese statutory holidays.")
    # Signs gate decisions so a resume that did not come through the API cannot pass a gate.
    gate_secret: SecretStr | None = None

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
