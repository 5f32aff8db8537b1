"""The built-in anomaly app through the manager: pumps' committed data is scored against the
fleet baseline, ``anomaly.score`` and ``anomaly.flag`` are written for tenants that installed
it, and a SKAB fault (a closed valve) drives the flag to 1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from helan.apps import CommittedBatch
from helan.apps.builtin.anomaly import app as anomaly
from helan.apps.builtin.anomaly.scorer import SIGNALS, PumpScorer
from helan.apps.component import AppsComponent
from helan.apps.manager import AppManager
from helan.apps.sdk import AppServices
from helan.core.points import batch_from_columns
from helan.models.anomaly import detector
from helan.models.anomaly.skab import read_run
from helan.storage.telemetry.base import RawQuery

SKAB = Path(__file__).resolve().parents[3] / "src" / "helan" / "sim" / "data" / "skab"
T0 = 1_790_000_000_000


def _batch(tenant: str, device: str, row: np.ndarray, ts: int) -> CommittedBatch:
    n = len(SIGNALS)
    return CommittedBatch(
        batch_from_columns([tenant] * n, [device] * n, list(SIGNALS), [ts] * n, row.tolist())
    )


@pytest.fixture
async def apps(services: AppServices) -> AsyncIterator[AppsComponent]:
    manager = AppManager()
    manager.load_builtins()
    services.installs.install("acme", "anomaly")
    component = AppsComponent(manager, services)
    await component.start()
    yield component
    await component.stop()


def test_fault_raises_the_score_above_the_threshold() -> None:
    normal = read_run(SKAB / "anomaly-free" / "anomaly-free.csv", labelled=False).signals
    run = read_run(SKAB / "valve1" / "13.csv")
    assert run.anomaly is not None
    scorer = PumpScorer(fleet=detector.fit(normal))
    # the run replayed at the fleet's operating point, as the simulator does
    replay = run.signals / run.signals[:400].mean(axis=0) * normal.mean(axis=0)
    flags = []
    for t, row in enumerate(replay):
        scored = scorer.update(_batch("acme", "pump-1", row, T0 + 1000 * t).points)
        assert scored is not None
        flags.append(bool(scored.flag[0]))
    flagged = np.array(flags)
    assert flagged[run.anomaly == 1].mean() > 0.8
    # normal once the replay's first minute (off the fleet's operating point) has passed
    assert flagged[120:400].mean() < 0.2


def test_each_pump_learns_its_own_start_without_a_fleet_baseline() -> None:
    scorer = PumpScorer(warmup=30)
    rng = np.random.default_rng(1)
    for t in range(29):
        row = 1.0 + 0.01 * rng.standard_normal(len(SIGNALS))
        assert scorer.update(_batch("acme", "pump-9", row, T0 + 1000 * t).points) is None
    assert (
        scorer.update(_batch("acme", "pump-9", np.ones(len(SIGNALS)), T0 + 29_000).points) is None
    )
    assert scorer.baseline("acme", "pump-9") is not None
    far = scorer.update(_batch("acme", "pump-9", np.full(len(SIGNALS), 1.5), T0 + 30_000).points)
    assert far is not None
    assert far.score[0] > far.threshold[0]


async def test_scores_are_written_for_installed_tenants_only(
    services: AppServices, apps: AppsComponent
) -> None:
    sdk = apps.sdks["anomaly"]
    base = anomaly.fleet_baseline()
    assert base is not None
    await apps.on_committed(_batch("acme", "press-1", base.mean, T0))  # any device with the signals
    await apps.on_committed(_batch("beta", "pump-1", base.mean, T0))
    written = await anomaly.score_batch(sdk, _batch("acme", "press-1", base.mean * 3, T0 + 6000))
    assert written == 2
    scope = sdk.tenant("acme")
    flags = (await scope.query("press-1", anomaly.FLAG, T0, T0 + 10_000)).column("value")
    assert flags.to_pylist()[-1] == 1.0
    q = RawQuery(tenant="beta", device="pump-1", metric=anomaly.SCORE, start_ms=0, end_ms=T0 * 2)
    assert services.telemetry.raw(q).num_rows == 0
