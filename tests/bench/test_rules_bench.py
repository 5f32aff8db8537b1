"""``helan bench rules`` at tiny size: its rule mix is valid and really evaluated, its
throughput phases run on the machine's Mosquitto, its webhook receiver fails and verifies as
it claims. The latency half (two starts of ``helan run``) is left to the bench itself."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import httpx
import pyarrow as pa
from typer.testing import CliRunner

from helan.bench.mqtt_load import METRICS
from helan.bench.rules import _add_rules, _Directory, _seed, _throughput, percentile
from helan.bench.rules_latency import WEBHOOK_SECRET, _Receiver
from helan.cli import _register, app
from helan.core.points import POINT_SCHEMA
from helan.rules.evaluator import Evaluator
from helan.rules.notify.channels.webhook import signature
from helan.rules.store import RuleSource
from helan.storage.meta import MetaStore
from tests.conftest import MOSQUITTO


def _load_batch(tenant: str, devices: int, ts: int) -> pa.Table:
    """One message of the load from every device: ``m<k>`` = 20 + k / 2."""
    rows = [(f"dev-{d}", m, 20 + k * 0.5) for d in range(devices) for k, m in enumerate(METRICS)]
    return pa.table(
        {
            "tenant": [tenant] * len(rows),
            "device": [r[0] for r in rows],
            "metric": [r[1] for r in rows],
            "ts": pa.array([ts] * len(rows), pa.int64()),
            "value": [r[2] for r in rows],
            "text": pa.array([None] * len(rows), pa.string()),
            "quality": pa.array([0] * len(rows), pa.int8()),
        },
        schema=POINT_SCHEMA,
    )


def test_rule_mix_saves_resolves_and_fires_only_where_meant(tmp_path: Path) -> None:
    meta = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    meta.migrate()
    try:
        _seed(meta, "t", 300)
        _add_rules(meta, "t", 0, 200, 300)  # through import_rules: checked like a save
        loaded = RuleSource(meta).load()
    finally:
        meta.close()
    assert len(loaded.rules) == 200
    kinds = Counter(r.spec.condition.kind for r in loaded.rules)
    assert kinds == {"threshold": 144, "range": 24, "expr": 16, "aggregate": 16}
    assert sum(1 for r in loaded.rules if r.spec.for_s) == 4
    sizes = Counter(len(r.devices) for r in loaded.rules)
    assert sizes == {1: 180, 100: 20}  # every tenth rule covers a device type of 100
    ev = Evaluator(loaded.rules)
    changes = ev.points(_load_batch("t", 300, 1_000), committed_ms=5)
    changes += ev.points(_load_batch("t", 300, 2_000), committed_ms=6)
    raised = sorted((c.rule_id, c.device) for c in changes if c.active)
    assert raised == [("r-00001", "dev-119"), ("r-00101", "dev-19")]  # 1 in 100, nothing else
    assert ev.evaluated == 2 * 300 * len(METRICS)


async def test_throughput_phases_evaluate_every_point(tmp_path: Path) -> None:
    tenant = f"t{random.randrange(16**8):08x}"
    directory = _Directory.of(tenant, 50)
    phases = await _throughput(MOSQUITTO, False, tenant, directory, 50, 1.0, 1, (0, 10, 50),
                               tmp_path)  # fmt: skip
    assert [p.rules for p in phases] == [0, 10, 50]
    assert [p.pairs for p in phases] == [0, 59, 295]  # one device type: all 50 devices
    for p in phases:
        assert p.points > 0
        assert p.points % len(METRICS) == 0
        assert p.dropped == 0
        assert p.failed == 0
        assert p.points_per_s > 0
    assert phases[0].evaluated == 0
    assert phases[1].evaluated == phases[1].points
    assert phases[2].evaluated == phases[2].points
    assert phases[1].changes == 1  # rule 1 (in phase 1) fires on the load's values


async def test_receiver_fails_some_checks_signatures_and_counts_keys_once() -> None:
    receiver = _Receiver(0.3)
    await receiver.start()
    try:
        answers: Counter[int] = Counter()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{receiver.port}") as http:
            for n in range(60):
                body = b'{"kind":"raised","ts_ms":%d}' % n
                headers = {"x-helan-signature": signature(WEBHOOK_SECRET, body),
                           "idempotency-key": f"k{n % 40}"}  # fmt: skip
                answers[(await http.post("/hook", content=body, headers=headers)).status_code] += 1
            forged = await http.post("/hook", content=b"{}", headers={"x-helan-signature": "x"})
    finally:
        await receiver.stop()
    assert forged.status_code == 401
    assert receiver.bad_signatures == 1
    assert answers[500] == receiver.failed
    assert 8 <= receiver.failed <= 30
    assert answers[204] == 60 - receiver.failed
    assert len(receiver.accepted) + receiver.duplicates == answers[204]
    assert set(receiver.accepted) <= {f"k{i}" for i in range(40)}
    assert receiver.requests == 61


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 99) == 0.0


def test_rule_counts_that_are_not_three_increasing_from_zero_are_refused() -> None:
    _register(["bench", "rules"])
    runner = CliRunner()
    for bad in ("0,5", "5,10,20", "0,100,50", "0,x,9", "zero"):
        result = runner.invoke(app, ["bench", "rules", "--rules", bad])
        assert result.exit_code == 2, (bad, result.output)
        assert "--rules" in result.output
    result = runner.invoke(app, ["bench", "rules", "--broker", "emqx"])
    assert result.exit_code == 2
    assert "--broker" in result.output
