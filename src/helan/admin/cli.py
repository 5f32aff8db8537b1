"""``helan admin``: provision from the shell, through the same code paths (and checks, and audit
trail) as the REST API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from helan.admin.bootstrap import bootstrap_admin
from helan.config import load_settings
from helan.core.errors import HelanError, NotFound
from helan.security.principal import Principal, Role
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
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]invalid {'.'.join(map(str, e['loc']))}: {e['msg']}[/]")
        raise typer.Exit(2) from None
    except HelanError as exc:
        err.print(f"[red]{exc.code}: {exc.message}[/]")
        raise typer.Exit(1) from None
    finally:
        meta.close()


def _require_tenant(meta: MetaStore, tenant: str) -> None:
    with meta.session() as s:
        if s.get(Tenant, tenant) is None:
            raise NotFound(f"tenant {tenant!r} not found")


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
    from helan.api.routers import tenants
    from helan.api.schemas.tenants import TenantCreate

    with _meta(config) as meta:
        body = TenantCreate(
            id=tenant_id,
            name=name,
            uscc=uscc,
            industry=industry,
            region=region,
            retention_days=retention_days,
            allow_auto_create=allow_auto_create,
        )
        out = tenants.create_tenant(body, CLI, meta)
    console.print(f"created tenant [bold]{out.id}[/] ({out.name})")


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="platform_admin, tenant_admin, operator, viewer")],
    tenant: Annotated[str | None, typer.Option(help="Required unless platform_admin")] = None,
    password: Annotated[str | None, typer.Option(help="Omit to generate one")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user; a generated password is printed once."""
    from helan.api.routers import users
    from helan.api.schemas.users import UserCreate
    from helan.security.hashing import hash_password
    from helan.storage.meta.models import User

    shown = password or secrets.token_urlsafe(18)
    with _meta(config) as meta:
        if role == Role.PLATFORM_ADMIN.value:
            if tenant is not None:
                raise typer.BadParameter("a platform admin belongs to no tenant")
            checked = UserCreate(username=username, password=shown, role="viewer")
            with meta.session() as s:
                if s.get(User, username) is not None:
                    raise typer.BadParameter(f"username {username!r} is taken")
                s.add(
                    User(
                        username=checked.username,
                        role=role,
                        tenant_id=None,
                        password_hash=hash_password(shown),
                    )
                )
        else:
            if tenant is None:
                raise typer.BadParameter("--tenant is required for tenant roles")
            _require_tenant(meta, tenant)
            body = UserCreate.model_validate(
                {"username": username, "password": shown, "role": role}
            )
            users.create_user(tenant, body, CLI, meta)
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
    from helan.api.routers import devices
    from helan.api.schemas.things import DeviceCreate

    with _meta(config) as meta:
        _require_tenant(meta, tenant)
        body = DeviceCreate(
            id=device_id, name=name or device_id, device_type=device_type, asset=asset
        )
        out = devices.create_device(tenant, body, CLI, meta)
    console.print(f"created device [bold]{out.id}[/] in {tenant}")
    console.print(f"username: [bold]{out.username}[/]")
    console.print(f"password (shown once): [bold yellow]{out.password}[/]")


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


@app.command("list-tenants")
def list_tenants(config: ConfigOpt = None) -> None:
    import sqlalchemy as sa

    with _meta(config) as meta, meta.session() as s:
        rows = s.scalars(sa.select(Tenant).order_by(Tenant.id)).all()
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
