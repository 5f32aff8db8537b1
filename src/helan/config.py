"""Settings: ``HELAN_*`` environment variables override an optional TOML file and the defaults.

Every default is embedded (SQLite, DuckDB, an in-process MQTT broker) so that ``helan run``
works on a bare machine; production points the URLs at PostgreSQL and an external broker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELAN_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Where embedded databases and buffers live.")
    # Metadata (tenants, users, devices): a SQLAlchemy URL. Empty = SQLite in data_dir.
    database_url: str = ""
    # Telemetry: "duckdb" (embedded, file in data_dir) or a postgresql:// URL.
    telemetry_url: str = "duckdb"
    # MQTT broker: empty = start the embedded broker; else mqtt://host:port
    mqtt_url: str = ""
    mqtt_embedded_port: int = 1883
    # Ingest connections to an external broker. 1 = one plain persistent subscription, which
    # Mosquitto keeps across its own restarts. More = one shared subscription over N connections
    # (needed for >~100k points/s on Mosquitto, which reads one packet per connection per loop);
    # Mosquitto 2.0 does NOT restore shared subscriptions after a broker restart, so messages
    # published between its restart and the ingest's reconnect are lost (docs/ingest.md).
    mqtt_ingest_connections: int = Field(1, ge=1, le=64)
    # Several ingest processes against one external broker: each gets its own name (its MQTT
    # client ids and session), and all share one subscription group, so the broker splits the
    # load between them. Empty = the only ingest process.
    ingest_instance: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,32}$")
    # Their shared subscription group. A retired instance's broker session stays in the group
    # (and is handed its share) until it is ended: ``helan admin`` can't see it, so either
    # reuse the instance names or end the session (docs/operations.md).
    ingest_group: str = Field("helan-ingest", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    # The committed-data stream between processes (roles run apart): a NATS URL with JetStream.
    # Empty = in-process only (all roles in one process), or the embedded broker's when this
    # process runs it.
    stream_url: str = ""
    # External Mosquitto with Helan-managed auth (docs/ingest.md): the directory where the
    # platform keeps Mosquitto's passwd and acl in step with the devices (and writes a first
    # mosquitto.conf). Empty = off.
    mosquitto_auth_dir: Path | None = None
    # Mosquitto's pid file (its ``pid_file``): sent SIGHUP after each rewrite so that it
    # reloads the files. Empty = reload it yourself.
    mosquitto_pid_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # `helan run --sim`: the first CNC or press breaks down this many seconds after the factory
    # starts publishing, the first pump's SKAB anomaly begins at 1.5 times it.
    sim_first_fault_s: float = Field(60.0, gt=0)
    # The demo's pump-station PLC (Modbus TCP on loopback, watched by the traffic detector).
    sim_plc_port: int = Field(5502, ge=0, le=65535)  # 0: no PLC
    smtp_host: str = Field("", description="SMTP server for e-mail (reports, alarms); empty: none.")
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "helan@localhost"
    # Secret for signing access tokens. Empty = generated once and kept in data_dir.
    secret_key: SecretStr = SecretStr("")
    access_token_minutes: int = 15
    # Security centre (docs/security.md). SM2 key (hex) signing audit checkpoints and SM4 key
    # (32 hex digits) sealing stored secrets; empty = generated once and kept (mode 0600) in
    # data_dir, apart from the database. Audit records are kept audit_retention_days (>= 180).
    audit_sign_key: SecretStr = SecretStr("")
    secrets_key: SecretStr = SecretStr("")
    audit_retention_days: int = Field(180, ge=180)
    audit_checkpoint_minutes: float = Field(60.0, gt=0)
    # Platform and tenant administrators and security officers must enrol a second factor
    # (TOTP) within this many days of their account's creation; after it, their login yields a
    # token good only for enrolling one. 0: at the first login.
    mfa_grace_days: int = Field(7, ge=0, le=90)
    # Ingest batching: a batch is written when it reaches this many points or this age.
    ingest_batch_points: int = 50_000
    ingest_batch_ms: int = 200
    # Points further than this from the server clock are rejected (seconds).
    max_future_skew_s: int = 300
    max_past_age_s: int = 10 * 365 * 24 * 3600
    max_payload_bytes: int = 1_048_576
    # Any other request body (REST resources); bulk ingest is bounded by max_payload_bytes.
    max_request_bytes: int = 262_144
    device_offline_after_s: int = 60
    # The rule engine holds live data this long and evaluates it sorted by device time
    # (docs/rules.md). Unset: 0 where this process runs the ingest (one ingest keeps each
    # device's order), 1000 where the ingest runs in other processes sharing the broker's load.
    rules_reorder_ms: int | None = Field(None, ge=0, le=60_000)
    # After a start the rule engine holds live data this long, then evaluates it in device time:
    # what the broker redelivers after a crash (after its ack wait: 5 s for the embedded
    # broker) would otherwise come behind newer points and be late (docs/rules.md).
    rules_startup_hold_ms: int = Field(15_000, ge=0, le=600_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Where clients reach this platform (identifier records point here). Empty = from http_*.
    public_base_url: str = ""
    # Embedded enterprise identifier node: Handle UDP+TCP port (0 = no wire listeners; the
    # records and the REST API under /api/handles stay) and the prefix admins' secret
    # (empty = Handle REST writes are refused; the platform still manages device records).
    ident_port: int = Field(2641, ge=0, le=65535)
    ident_admin_secret: SecretStr = SecretStr("")
    # SM2 private key (hex, `helan ident keygen`): sign every record the embedded node writes
    # and publish the public key (HS_PUBKEY 301) in each tenant's prefix record. Empty = unsigned.
    ident_sign_key: SecretStr = SecretStr("")

    # Notifications (docs/rules.md). Outbound hosts ("host[:port]", comma-separated in
    # HELAN_NOTIFY_ALLOWED_HOSTS) that channels may reach although they resolve to loopback,
    # private, link-local or reserved addresses; every other such address is refused.
    notify_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    notify_max_attempts: int = Field(20, ge=1, le=1000)
    notify_max_age_s: float = Field(24 * 3600, gt=0)
    notify_backoff_min_s: float = Field(1.0, gt=0)
    notify_backoff_max_s: float = Field(600.0, gt=0)
    notify_concurrency: int = Field(8, ge=1, le=256)
    notify_poll_s: float = Field(1.0, gt=0)
    notify_lease_s: float = Field(60.0, gt=0)
    notify_timeout_s: float = Field(10.0, gt=0, le=300)

    @field_validator("notify_allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("mosquitto_auth_dir", "mosquitto_pid_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``HELAN_MOSQUITTO_AUTH_DIR=`` turns the feature off rather than meaning ``.``."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_base_url:
            host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
            self.public_base_url = f"http://{host}:{self.http_port}"
        self.public_base_url = self.public_base_url.rstrip("/")
        return self

    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'helan.sqlite3').as_posix()}"

    @property
    def telemetry_path(self) -> Path:
        return self.data_dir / "telemetry.duckdb"


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from a TOML file, then the environment, then explicit overrides (rising order)."""
    values: dict[str, object] = {}
    path = config_file or (Path(p) if (p := os.environ.get("HELAN_CONFIG")) else None)
    if path is not None:
        import tomllib

        with path.open("rb") as fh:
            values.update(tomllib.load(fh))
    env_set = {k for k in Settings.model_fields if f"HELAN_{k.upper()}" in os.environ}
    values = {k: v for k, v in values.items() if k not in env_set}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
