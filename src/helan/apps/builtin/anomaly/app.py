"""The anomaly app's hooks: every pump's committed data is scored as it arrives, the smoothed
T² (``anomaly.score``) and its flag (``anomaly.flag``, 1 above the threshold) are written as
derived metrics every :data:`WRITE_EVERY_MS`, and the rules engine raises the alarm (a rule on
``anomaly.flag``; the demo's is in :mod:`helan.sim.alarms`). State lives per SDK."""

from __future__ import annotations

import logging
import weakref
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Path

from helan.api.deps import Reader
from helan.apps.builtin.anomaly.scorer import SIGNALS, PumpScorer, Scored
from helan.apps.descriptors import AppManifest, ConsolePage, Subscription
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK, DerivedPoint
from helan.ingest.stream import CommittedBatch
from helan.models.anomaly import detector
from helan.models.anomaly.skab import read_run

log = logging.getLogger(__name__)

SCORE = "anomaly.score"
FLAG = "anomaly.flag"
WRITE_EVERY_MS = 5_000
HISTORY = 60  # written scores kept per pump for the console page (5 minutes)
_OWN_PREFIX = "anomaly."
# SKAB's anomaly-free recording, the normal data of the pump type the simulator replays.
NORMAL_DATA = (
    FilePath(__file__).resolve().parents[3] / "sim" / "data" / "skab" / "anomaly-free"
) / "anomaly-free.csv"


@cache
def fleet_baseline(path: FilePath = NORMAL_DATA) -> detector.Baseline | None:
    """The baseline every pump is scored against; None (each pump learns its own start) when
    the normal recording is not installed."""
    if not path.is_file():
        log.warning("anomaly app: no %s; each pump is scored against its own start", path)
        return None
    signals = read_run(path, labelled=False).signals
    return detector.fit(signals)


@dataclass
class AppState:
    scorer: PumpScorer
    written_ms: dict[int, int] = field(default_factory=dict)
    history: dict[tuple[str, str], deque[tuple[int, float]]] = field(default_factory=dict)

    def due(self, scored: Scored) -> np.ndarray:
        """Which scored pumps are due a write (none written in the last WRITE_EVERY_MS)."""
        last = np.fromiter(
            (self.written_ms.get(int(s), -WRITE_EVERY_MS) for s in scored.slots),
            dtype=np.int64,
            count=len(scored.slots),
        )
        return np.flatnonzero(scored.ts - last >= WRITE_EVERY_MS)


_STATE: weakref.WeakKeyDictionary[AppSDK, AppState] = weakref.WeakKeyDictionary()


def state(sdk: AppSDK) -> AppState:
    found = _STATE.get(sdk)
    if found is None:
        found = _STATE[sdk] = AppState(PumpScorer(fleet=fleet_baseline()))
    return found


async def score_batch(sdk: AppSDK, batch: CommittedBatch) -> int:
    """Score a committed batch; write the due points; returns points written."""
    if batch.historical:
        return 0  # backfill is not the pump's present state
    points = batch.points
    installed = sdk.tenants()
    if not installed:
        return 0
    points = points.filter(
        pc.and_(
            pc.is_in(points["tenant"], value_set=pa.array(sorted(installed))),
            pc.invert(pc.starts_with(points["metric"], _OWN_PREFIX)),
        )
    )
    st = state(sdk)
    scored = st.scorer.update(points)
    if scored is None:
        return 0
    due = st.due(scored)
    by_tenant: dict[str, list[DerivedPoint]] = {}
    flags = scored.flag
    for i in due.tolist():
        tenant, device, ts = scored.tenants[i], scored.devices[i], int(scored.ts[i])
        value = float(scored.score[i])
        st.written_ms[int(scored.slots[i])] = ts
        st.history.setdefault((tenant, device), deque(maxlen=HISTORY)).append((ts, value))
        by_tenant.setdefault(tenant, []).extend(
            (
                DerivedPoint(device=device, metric=SCORE, ts=ts, value=round(value, 4)),
                DerivedPoint(device=device, metric=FLAG, ts=ts, value=float(flags[i])),
            )
        )
    written = 0
    for tenant, derived in by_tenant.items():
        written += await sdk.tenant(tenant).write_metrics(derived)
    return written


@hookimpl
def committed_data(sdk: AppSDK) -> Subscription:
    async def on_batch(batch: CommittedBatch) -> None:
        await score_batch(sdk, batch)

    return Subscription(on_batch=on_batch)


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/pumps", summary="Each pump's anomaly score and signals")
    async def pumps(tenant: Annotated[str, Path()], principal: Reader) -> dict[str, Any]:
        sdk.tenant(tenant)  # Forbidden unless the tenant installed the app
        st = state(sdk)
        scorer = st.scorer
        out = []
        for (t, device), slot in sorted(scorer.slots.items()):
            if t != tenant:
                continue
            score = float(scorer.smoothed[slot])
            threshold = float(scorer.threshold[slot])
            out.append(
                {
                    "device": device,
                    "score": None if np.isnan(score) else round(score, 3),
                    "threshold": None if not np.isfinite(threshold) else round(threshold, 3),
                    "flag": bool(score > threshold) if np.isfinite(score) else False,
                    "signals": {
                        name: None if np.isnan(v) else round(float(v), 4)
                        for name, v in zip(SIGNALS, scorer.last[slot], strict=True)
                    },
                    "history": [list(p) for p in st.history.get((t, device), ())],
                }
            )
        return {"metric": SCORE, "flag_metric": FLAG, "pumps": out}

    return [router]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [
        ConsolePage(
            id="anomaly",
            title_zh="泵异常检测",
            title_en="Pump anomalies",
            module="anomaly.js",
        )
    ]


@hookimpl
def scope_families() -> list[str]:
    return ["anomaly"]


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="异常检测",
        name_en="Anomaly detection",
        version="1.0.0",
        description_zh="泵站多信号异常分数（T²，基于 SKAB 正常数据），超阈值由规则引擎报警",
        description_en=(
            "A multi-signal anomaly score (T² against SKAB's normal pump data) for every pump; "
            "the rules engine raises the alarm above the threshold"
        ),
        scopes=("anomaly:read",),
    )


@hookimpl
async def startup(sdk: AppSDK) -> None:
    state(sdk)


@hookimpl
async def shutdown(sdk: AppSDK) -> None:
    _STATE.pop(sdk, None)
