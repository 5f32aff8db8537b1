"""A standalone MQTT ingest worker: ``python -m helan.connect.mqtt.worker --mqtt URL --data-dir DIR
--devices devices.json``. Runs the same MqttIngest + pipeline + store as ``helan run``; several
workers split the load with ``--share GROUP`` (an MQTT shared subscription). Device events go to
the metadata database (``--database-url``, default SQLite in the data directory), so that the
worker stores them instead of refusing them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from helan.config import Settings
from helan.connect.mqtt.subscriber import MqttIngest
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.telemetry import open_store


async def serve(args: argparse.Namespace) -> None:
    given = {"database_url": args.database_url} if args.database_url else {}
    settings = Settings(
        data_dir=args.data_dir,
        telemetry_url=args.telemetry_url,
        ingest_batch_ms=args.batch_ms,
        **given,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    live = LiveState(offline_after_s=settings.device_offline_after_s)
    pipeline = IngestPipeline(store, live, settings)
    ingest = MqttIngest(
        args.mqtt,
        pipeline,
        StaticDirectory.load(args.devices),
        live,
        settings,
        client_id=args.client_id,
        tenants=args.tenant or ("+",),
        share_group=args.share,
        events=EventStore(meta),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await pipeline.start()
    await ingest.start()
    print("ready", flush=True)  # the parent waits for this line
    await stop.wait()
    await ingest.stop()
    await pipeline.stop()
    store.close()
    meta.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helan.connect.mqtt.worker")
    parser.add_argument("--mqtt", required=True, help="broker URL, mqtt://[user:secret@]host:port")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--telemetry-url", default="duckdb")
    parser.add_argument(
        "--database-url",
        default="",
        help="metadata database for events (default: HELAN_DATABASE_URL, else SQLite)",
    )
    parser.add_argument("--devices", type=Path, required=True, help="StaticDirectory JSON file")
    parser.add_argument("--client-id", default="helan-ingest")
    parser.add_argument("--tenant", action="append", help="subscribe to this tenant only")
    parser.add_argument("--share", default=None, help="shared-subscription group")
    parser.add_argument("--batch-ms", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import uvloop

    uvloop.run(serve(args))


if __name__ == "__main__":
    main()
