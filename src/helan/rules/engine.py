"""The ``rules`` role: the evaluator fed by the committed-data stream, alarms written behind it.

- Evaluation and the alarm writes run in one worker thread, one item at a time under a lock, so
  the event loop (and with it the ingest's acknowledgements) never waits for them and the
  changes of one device reach the alarms in order.
- Rules are reloaded when the store's revision changes (a rule saved, a device or asset
  changed: target membership is resolved at load), checked every ``reload_s``.
- Every ``checkpoint_s`` the evaluator's state is written to a checkpoint file (header: the wall
  time; body: the snapshot; written to a temporary file, fsynced, renamed). On start the state
  is restored and the stored points and events since the checkpoint (less a margin, at most
  :data:`MAX_REPLAY_MS` back) are evaluated again: points the state has already seen are late
  for it and change nothing, the others raise what a crash would have lost, and the alarms
  apply each change once. Neither a lost alarm nor a doubled one after SIGKILL.
- Backfilled (historical) batches run through an evaluator of their own, so old data does not
  move the live state backwards; its changes go to the alarms marked historical.
- With ``reorder_ms`` > 0 live items are held that long after they arrive and evaluated
  together, sorted by device time: several ingest processes sharing the broker's load commit
  one device's points in interleaved batches, and without the window the points of the batch
  that arrives second would be late. One ingest keeps each device's order, so ``helan run``
  holds nothing.
- For ``startup_hold_ms`` after a start every live item is held and then evaluated in device
  time: after a crash the broker redelivers what the killed process had not acknowledged only
  after its ack wait (5 s for the embedded broker), behind points sent since, and those would
  otherwise be late. The replay at boot covers what was stored before the crash; the hold, what
  is stored again after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pickle
import struct
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from prometheus_client import Counter, Gauge

from helan.core.tasks import cancel
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents, CommittedStream
from helan.rules.contracts import ConditionChange, ConditionSink
from helan.rules.evaluator import Evaluator
from helan.rules.store import RuleSource
from helan.storage.meta.events import EventStore
from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

SUBSCRIBER = "rules"
MAX_REPLAY_MS = 3600_000
REPLAY_LAG_MS = 15 * 60_000  # device time behind wall time that a replay still finds
RECENT_MS = 30 * 60_000  # series heard this close to the checkpoint may have a backlog after it
REPLAY_CHUNK_MS = 600_000
REPLAY_LIMIT = 2_000_000  # points per tenant and chunk
_HEADER = struct.Struct(">4sQ")  # magic, wall ms
_MAGIC = b"HLR1"

EVALUATED = Counter("helan_rules_evaluated", "Points and events evaluated by the rules", ["kind"])
CHANGES = Counter("helan_rules_condition_changes", "Rule conditions that changed state")
LOADED = Gauge("helan_rules_loaded", "Enabled rules running")
LATE = Counter("helan_rules_late_points", "Points older than what the rules saw of their series")


def replay_start(saved_at: int, state: dict[str, Any] | None, now: int) -> int:
    """Where the replay after a restart begins, in device time. The store keeps device time,
    not commit time, so points committed after the checkpoint are found by device time: from
    :data:`REPLAY_LAG_MS` before the checkpoint (devices whose clocks lag, backlogs sent late),
    or earlier where a series heard near the checkpoint was further behind. What the restored
    state has already seen is late for it and changes nothing, so starting early costs reading
    only. Never more than an hour back. Not replayed: points committed after the checkpoint
    with device times further back than that (store-and-forward backfill is flagged
    historical and goes to its own evaluator anyway)."""
    start = saved_at - REPLAY_LAG_MS
    state = state or {}
    seen = [
        *state.get("seen", {}).values(),
        *state.get("py_ts", {}).values(),
        *(last for _, last in state.get("layers", {}).values()),
    ]
    recent = [ts for ts in seen if isinstance(ts, int) and ts >= saved_at - RECENT_MS]
    if recent:
        start = min(start, min(recent))
    return max(start, now - MAX_REPLAY_MS)


class RuleEngine:
    def __init__(
        self,
        *,
        stream: CommittedStream,
        source: RuleSource,
        sink: ConditionSink,
        telemetry: TelemetryStore,
        events: EventStore,
        checkpoint: Path,
        tick_s: float = 1.0,
        reload_s: float = 2.0,
        checkpoint_s: float = 5.0,
        alarm_tick: Any = None,
        reorder_ms: int = 0,
        startup_hold_ms: int = 0,
    ) -> None:
        self.stream = stream
        self.source = source
        self.sink = sink
        self.telemetry = telemetry
        self.events = events
        self.checkpoint = checkpoint
        self.tick_s, self.reload_s, self.checkpoint_s = tick_s, reload_s, checkpoint_s
        self.alarm_tick = alarm_tick  # AlarmService.tick: escalation, shelve expiry
        self.reorder_ms = reorder_ms
        self.startup_hold_ms = startup_hold_ms
        self._hold_until = 0.0  # monotonic; live items are held until then after a start
        self._booted = False
        self._held: list[tuple[float, Committed]] = []  # (arrival, item), in arrival order
        self.live = Evaluator()
        self.history = Evaluator(historical=True)
        self.revision: tuple[Any, ...] = ()
        self.changes = 0
        self.replayed = 0
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._late_seen = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        # Subscribed before the replay reads the store, and holding what comes until it is
        # done: a commit between the two is neither lost nor evaluated out of order.
        self._booted = False
        self._hold_until = time.monotonic() + self.startup_hold_ms / 1000
        self.stream.subscribe(SUBSCRIBER, self._on_item)
        await asyncio.to_thread(self._boot)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="helan-rules")

    async def stop(self) -> None:
        await self.stream.unsubscribe(SUBSCRIBER)
        await cancel(self._task)
        self._task = None
        await asyncio.to_thread(self._flush_held, 0.0)
        await asyncio.to_thread(self._save)

    def _boot(self) -> None:
        loaded = self.source.load()
        self.revision = loaded.revision
        saved_at, state = self._read_checkpoint()
        with self._lock:
            self.history.load(loaded.rules)
            gone = self.live.load(loaded.rules, carry=state)
            LOADED.set(len(self.live.rules))
            self._apply(gone)
            if saved_at is not None:
                self._replay(replay_start(saved_at, state, int(time.time() * 1000)))
            self._late_seen = self.live.late + self.history.late  # replay repeats are not late
            self._booted = True
            self._flush_due()  # what came during the boot, unless the start's hold keeps it
        self._save()  # at once: a crash before the first periodic save still replays from here

    def _replay(self, start: int) -> None:
        now = int(time.time() * 1000)
        tenants = sorted({r.rule.tenant for r in self.live.rules})
        for tenant in tenants:
            metrics = sorted(
                {m for r in self.live.rules if r.rule.tenant == tenant for m in r.metrics}
            )
            for lo in range(start, now + 1, REPLAY_CHUNK_MS) if metrics else ():
                hi = min(lo + REPLAY_CHUNK_MS, now + 1)
                table = self.telemetry.between(tenant, lo, hi, metrics, REPLAY_LIMIT)
                if table.num_rows >= REPLAY_LIMIT:
                    log.error(
                        "rules: replay of %s from %d cut at %d points", tenant, lo, REPLAY_LIMIT
                    )
                if table.num_rows:
                    table = table.sort_by([("ts", "ascending")])
                    self.replayed += table.num_rows
                    self._apply(self.live.points(table))
            rows = self.events.since(tenant, start, now + 1)
            if rows:
                self._apply(self.live.events(rows))
        log.info("rules: restored checkpoint, replayed %d points since %d", self.replayed, start)

    # -- work ------------------------------------------------------------------------------

    async def _on_item(self, item: Committed) -> None:
        await asyncio.to_thread(self._evaluate, item)

    def _evaluate(self, item: Committed) -> None:
        with self._lock:
            holding = (
                not self._booted
                or self.reorder_ms > 0
                or bool(self._held)
                or time.monotonic() < self._hold_until
            )
            if item.historical or not holding:
                self._run_items(self.history if item.historical else self.live, [item])
            else:
                self._held.append((time.monotonic(), item))
                self._flush_due()

    def _flush_held(self, older_than_s: float | None = None) -> None:
        """Evaluate the held items that arrived more than ``older_than_s`` ago (0: all;
        None: as the window says)."""
        with self._lock:
            self._flush_due(older_than_s)

    def _window_s(self) -> float:
        """How long a live item waits: the reorder window, or, until the start's hold ends,
        everything waits for it (what the broker redelivers after a crash comes after its ack
        wait, behind newer points, and is evaluated in its place instead of as late)."""
        if time.monotonic() < self._hold_until:
            return math.inf  # nothing is due before the hold ends; then all of it at once
        return self.reorder_ms / 1000

    def _flush_due(self, older_than_s: float | None = None) -> None:
        wait = self._window_s() if older_than_s is None else older_than_s
        cut = time.monotonic() - wait
        due = [item for arrived, item in self._held if arrived <= cut]
        if not due:
            return
        self._held = self._held[len(due) :]
        batches = [i.points for i in due if isinstance(i, CommittedBatch) and i.points.num_rows]
        merged: list[Committed] = []
        if batches:
            table = pa.concat_tables(batches).sort_by([("ts", "ascending")])  # stable
            committed = max(i.committed_ms for i in due if isinstance(i, CommittedBatch))
            merged.append(CommittedBatch(table, committed_ms=committed))
        rows = sorted(
            (r for i in due if isinstance(i, CommittedEvents) for r in i.rows),
            key=lambda r: r.ts,
        )
        if rows:
            committed = max(i.committed_ms for i in due if isinstance(i, CommittedEvents))
            merged.append(CommittedEvents(rows, committed_ms=committed))
        self._run_items(self.live, merged)

    def _run_items(self, evaluator: Evaluator, items: Sequence[Committed]) -> None:
        for item in items:
            if isinstance(item, CommittedBatch):
                EVALUATED.labels("points").inc(item.points.num_rows)
                changes = evaluator.points(item.points, item.committed_ms)
            else:
                EVALUATED.labels("events").inc(len(item.rows))
                changes = evaluator.events(item.rows, item.committed_ms)
            late = self.live.late + self.history.late
            if late > self._late_seen:
                LATE.inc(late - self._late_seen)
                self._late_seen = late
            self._apply(changes)

    def _apply(self, changes: Sequence[ConditionChange]) -> None:
        if changes:
            self.changes += len(changes)
            CHANGES.inc(len(changes))
            self.sink.apply(changes)

    async def _loop(self) -> None:
        last_reload = last_save = last_tick = time.monotonic()
        step = min(self.tick_s, self.reorder_ms / 2000) if self.reorder_ms > 0 else self.tick_s
        step = min(step, 0.25) if self.startup_hold_ms > 0 else step
        while True:
            await asyncio.sleep(step)
            try:
                if self._held:
                    await asyncio.to_thread(self._flush_held)
                now = time.monotonic()
                if now - last_tick < self.tick_s * 0.9:  # the sleep may end a hair early
                    continue
                last_tick = now
                await asyncio.to_thread(self._tick)
                if now - last_reload >= self.reload_s:
                    last_reload = now
                    await asyncio.to_thread(self._maybe_reload)
                if now - last_save >= self.checkpoint_s:
                    last_save = now
                    await asyncio.to_thread(self._save)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next tick tries again; evaluation goes on meanwhile
                log.exception("rules: tick failed")

    def _tick(self) -> None:
        now = int(time.time() * 1000)
        with self._lock:
            self._apply(self.live.tick(now))
        if self.alarm_tick is not None:
            self.alarm_tick(now)

    def _maybe_reload(self) -> None:
        if self.source.revision() == self.revision:
            return
        loaded = self.source.load()
        with self._lock:
            self.revision = loaded.revision
            gone = self.live.load(loaded.rules)
            self.history.load(loaded.rules)
            LOADED.set(len(self.live.rules))
            self._apply(gone)
        log.info("rules: %d rules loaded", len(self.live.rules))

    def reload_now(self) -> None:
        """Reload regardless of the revision (tests, and the API after an import)."""
        self.revision = ()
        self._maybe_reload()

    # -- checkpoint ------------------------------------------------------------------------

    def _save(self) -> None:
        with self._lock:
            state = self.live.snapshot()
        body = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        tmp = self.checkpoint.with_suffix(".tmp")
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, int(time.time() * 1000)))
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.checkpoint)

    def _read_checkpoint(self) -> tuple[int | None, dict[str, Any] | None]:
        """The checkpoint the engine itself wrote in its data directory (trusted input); a
        damaged one is set aside and the engine starts from the replay window alone."""
        try:
            data = self.checkpoint.read_bytes()
        except FileNotFoundError:
            return None, None
        try:
            magic, saved_at = _HEADER.unpack_from(data)
            if magic != _MAGIC:
                raise ValueError("not a rules checkpoint")
            state = pickle.loads(data[_HEADER.size :])  # noqa: S301 - our own file
            return saved_at, state
        except Exception as exc:  # noqa: BLE001 - any damage: keep it for inspection, go on
            aside = self.checkpoint.with_suffix(".damaged")
            with contextlib.suppress(OSError):
                os.replace(self.checkpoint, aside)
            log.error("rules: checkpoint unreadable (%s), moved to %s; replaying 1 h", exc, aside)
            return int(time.time() * 1000) - MAX_REPLAY_MS, None
