"""``helan ident``: run a node, bulk-load identifiers, resolve one over the wire."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from helan.ident.bulk import BulkFormat
from helan.ident.codes import DEFAULT_PORT, OpFlag, ResponseCode
from helan.ident.errors import HandleError
from helan.ident.node import Role
from helan.ident.server.client import HandleClient, Target

app = typer.Typer(
    help="Identifier registration and resolution (Handle protocol).", no_args_is_help=True
)
console = Console(stderr=True)


def _secret(variable: str) -> str:
    """A secret from the environment, plain or sealed (``helan admin seal-secret``)."""
    from helan.config import Settings
    from helan.security.crypto.seal import SealError, reveal

    try:
        return reveal(os.environ.get(variable, ""), Settings())
    except SealError as exc:
        raise typer.BadParameter(f"{variable}: {exc}") from None


def _target(text: str, tcp: bool = False) -> Target:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter(f"{text!r} is not HOST:PORT")
    return Target(host, int(port), tcp)


@app.command()
def serve(
    role: Annotated[Role, typer.Option(help="Node role.")],
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="UDP and TCP port.")] = DEFAULT_PORT,
    store: Annotated[
        str, typer.Option(help="lmdb:PATH, sqlite:PATH or postgresql://...")
    ] = "lmdb:ident",
    data_dir: Annotated[Path, typer.Option(help="Base of relative store paths.")] = Path("var"),
    prefix: Annotated[
        list[str] | None, typer.Option(help="A prefix this node homes (repeatable).")
    ] = None,
    root: Annotated[
        list[str] | None, typer.Option(help="Resolver: a root node HOST:PORT (repeatable).")
    ] = None,
    rest_port: Annotated[
        int | None, typer.Option(help="Also serve the REST API on this port.")
    ] = None,
    secret_env: Annotated[
        str, typer.Option(help="Environment variable with the admin secret.")
    ] = "HELAN_IDENT_SECRET",  # noqa: S107 - the name of a variable, not a secret
    sign_key_env: Annotated[
        str, typer.Option(help="Environment variable with this node's SM2 private key (hex).")
    ] = "HELAN_IDENT_SIGN_KEY",
    trust_anchor: Annotated[
        str | None, typer.Option(help="Resolver: the root's SM2 public key (hex, 04||x||y).")
    ] = None,
) -> None:
    """Run a root, secondary, enterprise or resolver node until interrupted."""
    from helan.security.crypto.sm2 import PrivateKey, SM2Error

    try:
        raw_key = _secret(sign_key_env)
        sign_key = PrivateKey.from_hex(raw_key) if raw_key else None
        anchor = bytes.fromhex(trust_anchor) if trust_anchor else None
    except (SM2Error, ValueError) as exc:
        raise typer.BadParameter(f"signing key or trust anchor: {exc}") from None
    from helan.ident.runtime import NodeConfig, RunningNode

    secret = _secret(secret_env).encode()
    if role is not Role.RESOLVER and not secret:
        console.print(
            f"[yellow]{secret_env} is empty: no admin record is created; writes will be refused."
        )
    config = NodeConfig(
        role=role,
        host=host,
        port=port,
        store=store,
        data_dir=data_dir,
        prefixes=list(prefix or []),
        admin_secret=secret,
        roots=[_target(r) for r in root or []],
        rest_port=rest_port,
        sign_key=sign_key,
        trust_anchor=anchor,
    )

    async def main() -> None:
        node = RunningNode(config)
        await node.start()
        console.print(
            f"{role.value} node on {host}:{node.port} (udp+tcp)"
            + (f", REST on {rest_port}" if rest_port else "")
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await node.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        asyncio.run(main())


def _print_summary(summary: dict[str, object]) -> None:
    console.print(
        f"created {summary['created']:,}, updated {summary['updated']:,}, "
        f"failed {summary['failed']:,}"
    )
    errors = summary.get("errors") or []
    assert isinstance(errors, list)
    for error in errors[:20]:
        console.print(f"[red]{error['message']} (responseCode {error['responseCode']})")
    if len(errors) > 20 or summary.get("errorsTruncated"):
        console.print(f"[red]... and {int(str(summary['failed'])) - 20:,} more failed lines")


def _progress() -> Progress:
    columns = [TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    return Progress(*columns, console=console)


def _load_local(
    file: Path, fmt: BulkFormat, prefixes: list[str], store: str, data_dir: Path, overwrite: bool
) -> dict[str, object]:
    from helan.ident.bulk import BulkLoader, numbered
    from helan.ident.registry import Registry
    from helan.ident.store import open_store

    target = open_store(store, data_dir)
    loader = BulkLoader(Registry(target, homed=prefixes), None, fmt, overwrite=overwrite)
    with _progress() as progress, contextlib.ExitStack() as stack:
        src = sys.stdin.buffer if str(file) == "-" else stack.enter_context(file.open("rb"))
        size = None if str(file) == "-" else file.stat().st_size
        task = progress.add_task("load", total=size)
        done = 0
        try:
            for batch in numbered(src):
                loader.feed(batch)
                done += sum(len(line) + 1 for _, line in batch)
                progress.update(task, completed=done)
                if (bad := loader.header_error()) is not None:
                    raise bad
        finally:
            target.close()
    return loader.summary.to_json()


def _load_remote(
    file: Path,
    fmt: BulkFormat,
    url: str,
    user: str,
    secret: str,
    verify: str | bool,
    overwrite: bool,
) -> dict[str, object]:
    import httpx
    import orjson

    size = None if str(file) == "-" else file.stat().st_size
    with _progress() as progress, contextlib.ExitStack() as stack:
        src = sys.stdin.buffer if str(file) == "-" else stack.enter_context(file.open("rb"))
        task = progress.add_task("load", total=size)

        def chunks() -> Iterator[bytes]:
            while chunk := src.read(1 << 20):
                progress.advance(task, len(chunk))
                yield chunk

        ctype = "text/csv" if fmt is BulkFormat.CSV else "application/x-ndjson"
        response = httpx.post(
            f"{url.rstrip('/')}/api/bulk",
            params={"format": fmt.value, "overwrite": str(overwrite).lower()},
            content=chunks(),
            auth=(user, secret),
            headers={"Content-Type": ctype},
            verify=verify,
            timeout=httpx.Timeout(60.0, read=None),
        )
    body = orjson.loads(response.content)
    if response.status_code != 200:
        raise HandleError(ResponseCode(body.get("responseCode", 2)), str(body.get("message")))
    assert isinstance(body, dict)
    return body


@app.command()
def load(
    file: Annotated[
        Path,
        typer.Argument(
            help="NDJSON (.ndjson/.jsonl) or CSV (.csv) file; '-' reads NDJSON from stdin."
        ),
    ],
    prefix: Annotated[
        list[str] | None, typer.Option(help="Local load: prefix(es) the store's node homes.")
    ] = None,
    store: Annotated[
        str, typer.Option(help="Local load: lmdb:PATH, sqlite:PATH or postgresql://...")
    ] = "lmdb:ident",
    data_dir: Annotated[Path, typer.Option(help="Base of relative store paths.")] = Path("var"),
    url: Annotated[
        str | None, typer.Option(help="Remote load: the node's REST base URL (https://...).")
    ] = None,
    user: Annotated[str, typer.Option(help="Remote load: 'index:handle' of the admin.")] = "",
    secret_env: Annotated[
        str, typer.Option(help="Remote load: environment variable with the admin secret.")
    ] = "HELAN_IDENT_SECRET",  # noqa: S107 - the name of a variable, not a secret
    ca_file: Annotated[
        Path | None, typer.Option(help="Remote load: CA bundle that signed the node's TLS cert.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing records.")] = False,
) -> None:
    """Bulk-register identifiers: straight into a stopped node's store, or over HTTP (--url)."""
    fmt = BulkFormat.CSV if file.suffix == ".csv" else BulkFormat.NDJSON
    try:
        if url is not None:
            if not user:
                raise typer.BadParameter("--url needs --user 'index:handle'")
            verify: str | bool = str(ca_file) if ca_file else True
            secret = _secret(secret_env)
            summary = _load_remote(file, fmt, url, user, secret, verify, overwrite)
        else:
            if not prefix:
                raise typer.BadParameter("a local load needs --prefix (or use --url)")
            summary = _load_local(file, fmt, prefix, store, data_dir, overwrite)
    except HandleError as exc:
        console.print(f"[red]{exc.message} (responseCode {int(exc.rc)}); nothing more was loaded")
        raise typer.Exit(1) from None
    _print_summary(summary)
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def keygen() -> None:
    """Make an SM2 key pair: the private key (keep it in the node's environment) and the public
    key (give it to the parent prefix's administrator, or to resolvers as a trust anchor)."""
    from helan.security.crypto.sm2 import PrivateKey

    key = PrivateKey.generate()
    sys.stdout.write(f"private {key.hex()}\npublic  {key.public_key().hex()}\n")


@app.command()
def resolve(
    handle: str,
    server: Annotated[
        str, typer.Option(help="HOST:PORT of a node or resolver.")
    ] = f"127.0.0.1:{DEFAULT_PORT}",
    tcp: Annotated[bool, typer.Option(help="Use TCP instead of UDP.")] = False,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only values of this type.")
    ] = None,
) -> None:
    """Resolve one handle over the Handle wire protocol and print its values."""
    from helan.ident.rest.jsonvalues import value_to_json
    from helan.ident.wire import messages as m
    from helan.ident.wire.records import decode_values

    async def main() -> int:
        client = HandleClient()
        try:
            reply = await client.resolve(_target(server, tcp), handle, types=tuple(type_ or ()))
        except HandleError as exc:
            console.print(f"[red]{exc.rc.name}: {exc.message}")
            return 2
        finally:
            client.close()
        if reply.rc == ResponseCode.SUCCESS and isinstance(reply.body, m.ResolutionResponse):
            import orjson

            values = [value_to_json(v) for v in decode_values(reply.body.values)]
            sys.stdout.write(
                orjson.dumps(
                    {
                        "handle": reply.body.handle.decode(),
                        "values": values,
                        "authenticated": bool(reply.flags & OpFlag.AUTHENTICATED),
                    }
                ).decode()
                + "\n"
            )
            return 0
        detail = (
            reply.body.message.decode("utf-8", "replace")
            if isinstance(reply.body, m.ErrorResponse)
            else ""
        )
        console.print(f"[red]{ResponseCode(reply.rc).name} ({reply.rc}) {detail}")
        return 1

    raise typer.Exit(asyncio.run(main()))


if __name__ == "__main__":
    app()
