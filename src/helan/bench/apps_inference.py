"""Live inference overhead: the ingest-mqtt load (:mod:`helan.bench.ingest_mqtt`: devices → the
broker → MqttIngest → durable store) run twice on the same broker, without and with the anomaly
app's scorer subscribed to the committed stream of every device, writing its derived points
back through the same ingest pipeline. ``ingest_ratio`` = points/s with / without.

What runs "with": :class:`helan.apps.builtin.anomaly.scorer.PumpScorer` over eight of the
load's ten metrics (each bench device stands for a pump) against a fleet baseline (fitted on
the load's own values with a little noise, as the app's is fitted on normal pump data, so every
device is scored from its first batch), and ``anomaly.score`` + ``anomaly.flag`` written every
5 s per device, as the app does. The scorer takes one row per device per committed batch (the
batch's mean of each signal): right for 1 Hz pumps; the bench's devices publish far faster, so
here each row stands for many messages. What it leaves out: the app SDK's tenant and device
checks around the write (one set lookup per call) and the rules engine's evaluation of the flag.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from helan.apps.builtin.anomaly.app import FLAG, SCORE, WRITE_EVERY_MS
from helan.apps.builtin.anomaly.scorer import PumpScorer
from helan.bench.ingest_mqtt import _Bench
from helan.bench.mqtt_load import METRICS
from helan.config import Settings
from helan.connect.mqtt.subscriber import RECEIVE_MAXIMUM, SCALE_OUT_CONNECTIONS
from helan.core.points import batch_from_columns
from helan.ingest.stream import Committed, CommittedBatch
from helan.models.anomaly import detector

SECONDS = 15.0
MQTT = "mqtt://127.0.0.1:1883"
SIGNALS = tuple(METRICS[:8])


def _fleet() -> detector.Baseline:
    """A baseline around the load's values (``mqtt_load``: metric i is 20 + 0.5 i)."""
    rng = np.random.default_rng(0)
    normal = np.array([20 + 0.5 * i for i in range(len(SIGNALS))])
    return detector.fit(normal + 0.01 * rng.standard_normal((400, len(SIGNALS))))


class _Inference:
    """The app's scoring on the committed stream: score, then write the due points."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.scorer = PumpScorer(fleet=_fleet(), signals=SIGNALS)
        self.written_ms: dict[int, int] = {}
        self.scored = 0
        self.written = 0

    async def on_committed(self, item: Committed) -> None:
        if not isinstance(item, CommittedBatch) or item.points.num_rows == 0:
            return
        scored = self.scorer.update(item.points)
        if scored is None:
            return
        self.scored += len(scored.slots)
        tenants: list[str] = []
        devices: list[str] = []
        metrics: list[str] = []
        ts: list[int] = []
        values: list[float | None] = []
        flags = scored.flag
        for i, slot in enumerate(scored.slots.tolist()):
            at = int(scored.ts[i])
            if at - self.written_ms.get(slot, -WRITE_EVERY_MS) < WRITE_EVERY_MS:
                continue
            self.written_ms[slot] = at
            for metric, value in ((SCORE, float(scored.score[i])), (FLAG, float(flags[i]))):
                tenants.append(scored.tenants[i])
                devices.append(scored.devices[i])
                metrics.append(metric)
                ts.append(at)
                values.append(value)
        if tenants:
            self.written += await self.pipeline.submit(
                batch_from_columns(tenants, devices, metrics, ts, values)
            )


async def _run(bench: _Bench, tenant: str, seconds: float, with_app: bool) -> dict[str, Any]:
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.storage.telemetry import open_store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        live = LiveState(offline_after_s=60)
        pipeline = IngestPipeline(store, live, settings)
        inference = _Inference(pipeline) if with_app else None
        if inference is not None:
            pipeline.stream.subscribe("anomaly", inference.on_committed)
        ingest = MqttIngest(bench.url, pipeline, bench.directory, live, settings,
                            client_id=f"bench-{tenant}", tenants=[tenant],
                            receive_maximum=RECEIVE_MAXIMUM,
                            connections=SCALE_OUT_CONNECTIONS)  # fmt: skip
        await pipeline.start()
        await ingest.start()
        load = bench.load(tenant, seconds, 4, ingest.connections * RECEIVE_MAXIMUM // 2)
        started = time.perf_counter()
        load.start()
        while load.proc.is_alive():
            load.consumed.value = ingest.acknowledged
            await asyncio.sleep(0.02)
        published = load.join() * len(METRICS)
        deadline = time.perf_counter() + 60
        while pipeline.counters.points_written < published:
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await ingest.stop()
        await pipeline.stop()
        await ingest.forget_sessions()
        store.close()
    return {
        "published": published,
        "elapsed": elapsed,
        "points_per_s": published / elapsed,
        "scored": inference.scored if inference else 0,
        "derived": inference.written if inference else 0,
    }


async def _both(mqtt: str, seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    bench = _Bench(mqtt, embedded=False)
    without = await _run(bench, bench.tenants["b"], seconds, with_app=False)
    with_app = await _run(bench, bench.tenants["g"], seconds, with_app=True)
    return without, with_app


def ingest_ratio_figures(mqtt: str = MQTT, seconds: float = SECONDS) -> dict[str, object]:
    """The ingest-mqtt load without and with the anomaly scorer on every device (about
    ``2 * seconds`` plus start-up); ``ingest_ratio`` = with / without, target >= 0.8."""
    without, with_app = asyncio.run(_both(mqtt, seconds))
    return {
        "ingest_points_per_s_without_app": round(without["points_per_s"]),
        "ingest_points_per_s_with_app": round(with_app["points_per_s"]),
        "ingest_ratio": round(with_app["points_per_s"] / without["points_per_s"], 3),
        "anomaly_rows_scored": with_app["scored"],
        "anomaly_points_written": with_app["derived"],
    }


if __name__ == "__main__":  # python -m helan.bench.apps_inference
    from helan.observe.report import report

    report("Anomaly app on the ingest-mqtt load", ingest_ratio_figures())
