"""``helan admin``: provision from the shell through the services the REST API calls, so the
same checks apply and the audit trail names the actor ``cli``."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from helan.admin.bootstrap import bootstrap_admin
from helan.config import load_settings
from helan.core.errors import HelanError, ValidationFailed
from helan.security.principal import PLATFORM_ROLES, Principal, Role
from helan.services import devices, tenants, users
from helan.services.paging import Window
from helan.storage.meta.models import Tenant
from helan.storage.meta.store import MetaStore

app = typer.Typer(help="Tenants, users and devices from the shell.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
CLI = Principal(kind="user", subject="cli", tenant=None, role=Role.PLATFORM_ADMIN)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


@contextmanager
def _meta(config: Path | None) -> Iterator[MetaStore]:
    settings = load_settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    meta = MetaStore(settings.metadata_url)
    try:
        meta.migrate()
        yield meta
    except ValidationFailed as exc:  # bad input: the usage error's code
        err.print(f"[red]invalid: {exc.message}[/]", soft_wrap=True)
        raise typer.Exit(2) from None
    except HelanError as exc:
        err.print(f"[red]{exc.code}: {exc.message}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        meta.close()


@app.command("create-tenant")
def create_tenant(
    tenant_id: Annotated[str, typer.Argument(help="Slug: a-z, 0-9, '-'")],
    name: Annotated[str, typer.Argument(help="Enterprise name")],
    uscc: Annotated[str | None, typer.Option(help="Unified social credit code")] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="Administrative division code")] = None,
    retention_days: Annotated[int, typer.Option()] = 365,
    allow_auto_create: Annotated[bool, typer.Option()] = False,
    config: ConfigOpt = None,
) -> None:
    new = tenants.NewTenant(
        id=tenant_id,
        name=name,
        uscc=uscc,
        industry=industry,
        region=region,
        retention_days=retention_days,
        allow_auto_create=allow_auto_create,
    )
    with _meta(config) as meta:
        row = tenants.create_tenant(meta, CLI, new)
    console.print(f"created tenant [bold]{row.id}[/] ({row.name})")


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[
        str, typer.Option(help="platform_admin, region_viewer, tenant_admin, operator, viewer")
    ],
    tenant: Annotated[str | None, typer.Option(help="Required for tenant roles")] = None,
    region: Annotated[
        str | None, typer.Option(help="GB/T 2260 code; required for region_viewer")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Omit to generate one")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user; a generated password is printed once."""
    try:
        granted = Role(role)
    except ValueError:
        raise typer.BadParameter(f"unknown role {role!r}") from None
    if granted in PLATFORM_ROLES and tenant is not None:
        raise typer.BadParameter(f"a {granted.value} belongs to no tenant")
    if granted not in PLATFORM_ROLES and tenant is None:
        raise typer.BadParameter("--tenant is required for tenant roles")
    shown = password or secrets.token_urlsafe(18)
    with _meta(config) as meta:
        if tenant is not None:
            tenants.get_tenant(meta, tenant)  # a missing tenant is named as such
        new = users.NewUser(username=username, password=shown, role=granted, region=region)
        users.create_user(meta, CLI, tenant, new)
    console.print(f"created user [bold]{username}[/] ({role})")
    if password is None:
        console.print(f"password (shown once): [bold yellow]{shown}[/]")


@app.command("create-device")
def create_device(
    tenant: str,
    device_id: str,
    name: Annotated[str | None, typer.Option(help="Defaults to the id")] = None,
    device_type: Annotated[str | None, typer.Option("--type", help="Device type id")] = None,
    asset: Annotated[str | None, typer.Option(help="Asset node id")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a device and print its MQTT/HTTP credential once."""
    new = devices.NewDevice(
        id=device_id, name=name or device_id, device_type=device_type, asset=asset
    )
    with _meta(config) as meta:
        tenants.get_tenant(meta, tenant)
        created = devices.create_device(meta, CLI, tenant, new)
    console.print(f"created device [bold]{created.device.id}[/] in {tenant}")
    console.print(f"username: [bold]{created.credential.username}[/]")
    console.print(f"password (shown once): [bold yellow]{created.credential.password}[/]")


@app.command("mosquitto-files")
def mosquitto_files(config: ConfigOpt = None) -> None:
    """Write Mosquitto's passwd and acl (and mosquitto.conf when missing) into
    HELAN_MOSQUITTO_AUTH_DIR now, and reload Mosquitto when HELAN_MOSQUITTO_PID_FILE is set:
    before Mosquitto's first start, or after changes made while no platform was running."""
    import asyncio
    from urllib.parse import urlsplit

    from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync

    settings = load_settings(config)
    if settings.mosquitto_auth_dir is None:
        err.print("[red]set HELAN_MOSQUITTO_AUTH_DIR (setting mosquitto_auth_dir) first[/]")
        raise typer.Exit(2)
    if urlsplit(settings.mqtt_url).username is None:
        err.print(
            "[yellow]HELAN_MQTT_URL carries no user:secret@: the platform's login written now "
            "is this command's own and is replaced when the platform starts[/]"
        )
    url = settings.mqtt_url or f"mqtt://127.0.0.1:{settings.mqtt_embedded_port}"
    pid_file = settings.mosquitto_pid_file
    running = pid_file is not None and pid_file.exists()
    if pid_file is not None and not running:
        console.print(f"no {pid_file}: Mosquitto reads the files when it starts")
    with _meta(config) as meta:
        sync = MosquittoAuthSync.from_settings(meta, settings, url)
        ok = asyncio.run(sync.sync(reload=running, notify=running))
    status = sync.status
    if not ok:
        err.print(f"[red]{status.last_error}[/]")
        raise typer.Exit(1)
    console.print(
        f"wrote {sync.passwd_path} and {sync.acl_path}: {status.users} login(s)"
        + (f", Mosquitto reloaded ({pid_file})" if status.reloads else "")
    )
    console.print(f"Mosquitto configuration: {sync.conf_path}")
    if status.without_broker_hash:
        console.print(
            f"[yellow]{len(status.without_broker_hash)} device(s) left out until their "
            f"credential is rotated (issued before Mosquitto hashes were stored)[/]"
        )


def _all_tenants(meta: MetaStore) -> list[Tenant]:
    rows: list[Tenant] = []
    while True:
        found = tenants.list_tenants(meta, Window(limit=1000, offset=len(rows)))
        rows += found.rows
        if not found.rows or len(rows) >= found.total:
            return rows


@app.command("list-tenants")
def list_tenants(config: ConfigOpt = None) -> None:
    with _meta(config) as meta:
        rows = _all_tenants(meta)
    table = Table("id", "name", "status", "credit code", "region", "retention (days)")
    for t in rows:
        table.add_row(t.id, t.name, t.status, t.uscc or "", t.region or "", str(t.retention_days))
    console.print(table)


@app.command("bootstrap")
def bootstrap(config: ConfigOpt = None) -> None:
    """Create the platform administrator if there are no users (as ``helan run`` does)."""
    settings = load_settings(config)
    with _meta(config) as meta:
        password = bootstrap_admin(meta, settings)
    if password:
        console.print(f"platform admin 'admin' password (shown once): [bold yellow]{password}[/]")
    else:
        console.print("users exist already (or HELAN_ADMIN_PASSWORD was used); nothing printed")


@app.command("rotate-secrets-key")
def rotate_secrets_key(config: ConfigOpt = None) -> None:
    """Seal every stored secret under a new SM4 key (data-dir key file) and retire the old
    keys; with HELAN_SECRETS_KEY set, re-seal under its first key (list the old ones after it)."""
    from helan.rules.notify.service import reseal_channels
    from helan.security.crypto import seal

    settings = load_settings(config)
    path = settings.data_dir / seal.KEYS_FILE
    with _meta(config) as meta:
        configured = bool(settings.secrets_key.get_secret_value())
        sealer = seal.Sealer.from_settings(settings) if configured else seal.rotate_file(path)
        n = reseal_channels(meta, sealer)
        if not configured:
            seal.retire_file(path)
    console.print(f"{n} notification channels re-sealed under key {sealer.current}")
    for name in CONFIG_SECRETS:
        value = getattr(settings, name).get_secret_value()
        if seal.is_sealed(value):
            # plain stdout: rich would wrap the value an operator copies
            sys.stdout.write(f"HELAN_{name.upper()}={sealer.reseal(value)}\n")


# Settings that may hold a sealed value (``seal-secret``); rotation re-seals them for the operator.
CONFIG_SECRETS = ("smtp_password",)


@app.command("seal-secret")
def seal_secret(
    config: ConfigOpt = None,
    value: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The secret (asked when not given).")
    ] = "",
) -> None:
    """Seal a secret (an SMTP password, an identifier node's admin secret or SM2 key) with the
    secrets key (SM4-GCM), to put in the configuration instead of the plaintext."""
    from helan.security.crypto import seal

    if not value:
        raise typer.BadParameter("an empty secret needs no sealing")
    sealer = seal.Sealer.from_settings(load_settings(config))
    sys.stdout.write(sealer.seal(value) + "\n")
