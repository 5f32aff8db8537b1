"""The delivery worker: sends the outbox at least once, with retries, to every channel kind.

A row is claimed with a lease (a conditional UPDATE that only one process can win, on SQLite
and PostgreSQL alike), sent, and marked ``sent`` only once the receiver accepted it. A crash
between the two leaves the row pending with a lease that runs out; another worker (or this
one, restarted) then sends it again with the same idempotency key. Failures are retried with
exponential backoff and jitter; after ``notify_max_attempts`` or ``notify_max_age_s`` the row
is dead (a dead letter, visible in the API and retryable from there).

The worker polls every ``notify_poll_s`` and is woken at once when an enqueue commits in this
process; sends run concurrently up to ``notify_concurrency``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import httpx
import sqlalchemy as sa

from helan.config import Settings
from helan.core.tasks import wait_set
from helan.rules.notify import limits, metrics, wakeup
from helan.rules.notify.allowlist import Resolver, system_resolver
from helan.rules.notify.channels import SENDERS, ChannelSpec, SendContext, SendFailed
from helan.rules.notify.configs import open_config
from helan.rules.notify.outbox import delivery_row, insert_ignoring_duplicates, now_ms
from helan.security.crypto.seal import Sealer, SealError
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationChannel, NotificationDelivery

if TYPE_CHECKING:
    from helan.connect.commands.service import CommandService

log = logging.getLogger(__name__)

D = NotificationDelivery
TABLE = cast(sa.Table, NotificationDelivery.__table__)
MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of (``token``), with its channel as it was."""

    id: int
    key: str
    tenant: str
    channel_id: str
    purpose: str
    severity: str
    notice: dict[str, Any]
    attempts: int
    admitted: bool
    created_ms: int
    committed_ms: int
    retried_ms: int | None
    token: str
    channel: ChannelSpec | None


def summary_row(tenant: str, channel: str, window_ms: int, count: int, now: int) -> dict[str, Any]:
    """The one message that stands for a window's suppressed notices."""
    notice = {
        "tenant": tenant,
        "alarm_id": "",
        "rule_id": "",
        "device": "",
        "kind": "summary",
        "severity": "low",
        "message": f"{count} notifications suppressed (已抑制 {count} 条通知)",
        "ts_ms": now,
        "values": {"suppressed": count, "window_start_ms": window_ms},
    }
    row = delivery_row(
        key=f"summary:{tenant}:{channel}:{window_ms}",
        tenant=tenant,
        channel=channel,
        alarm_id="",
        severity="low",
        notice=notice,
        purpose="summary",
        created_ms=now,
    )
    row["admitted"] = True
    return row


class Delivery:
    """``start``/``stop`` for a long-running worker; ``run_once`` sends what is due now."""

    def __init__(
        self,
        meta: MetaStore,
        settings: Settings,
        commands: CommandService | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        resolve: Resolver = system_resolver,
        rng: random.Random | None = None,
        batch: int = 100,
        name: str | None = None,
    ) -> None:
        self.meta = meta
        self.settings = settings
        self.sealer = Sealer.from_settings(settings)
        self.commands = commands
        self.clock = clock
        self.resolve = resolve
        self.batch = batch
        self.name = name or uuid.uuid4().hex[:8]
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ctx: SendContext | None = None
        # What this worker did: sent, failed, dead, held, suppressed (the metrics add up all).
        self.stats: collections.Counter[str] = collections.Counter()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._context()
        wakeup.subscribe(self.meta, self.wake)
        self._task = asyncio.create_task(self._run(), name=f"helan-notify-{self.name}")

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """Stop claiming; give sends in flight ``grace_s`` to finish (0: cut them off, as a
        crash would: their rows are sent again once their lease runs out)."""
        wakeup.unsubscribe(self.meta, self.wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight and grace_s > 0:
            await asyncio.wait(self._inflight, timeout=grace_s)
        for task in list(self._inflight):
            task.cancel()
        for task in list(self._inflight):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._inflight.clear()
        if self._ctx is not None:
            await self._ctx.http.aclose()
            if self._ctx.mqtt is not None:
                await self._ctx.mqtt.close()
            self._ctx = None

    def wake(self) -> None:
        """Claim now rather than at the next poll (callable from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._wake.set)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _context(self) -> SendContext:
        if self._ctx is None:
            from helan.rules.notify.channels.mqtt import Publisher

            self._ctx = SendContext(
                meta=self.meta,
                settings=self.settings,
                http=httpx.AsyncClient(
                    timeout=self.settings.notify_timeout_s,
                    follow_redirects=False,
                    trust_env=False,
                ),
                resolve=self.resolve,
                clock=self.clock,
                commands=self.commands,
                mqtt=Publisher(self.settings),
            )
        return self._ctx

    async def _run(self) -> None:
        while True:
            try:
                free = self.settings.notify_concurrency - len(self._inflight)
                await asyncio.to_thread(self._sweep)
                claimed = await asyncio.to_thread(self._claim, free) if free > 0 else []
                for row in claimed:
                    task = asyncio.create_task(self._process(row), name=f"helan-notify-{row.id}")
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
            except Exception:  # the database may be away for a while: try again next poll
                log.exception("notification delivery: claiming failed")
            await wait_set(self._wake, self.settings.notify_poll_s)
            self._wake.clear()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("notification delivery failed", exc_info=task.exception())
        self._wake.set()

    # -- one pass, for tests and the API ---------------------------------------------------

    async def run_once(self, ids: Sequence[int] | None = None) -> int:
        """Send every due row (or the rows ``ids``) once, waiting for the outcome; how many
        were claimed."""
        self._context()
        await asyncio.to_thread(self._sweep)
        claimed = await asyncio.to_thread(self._claim, self.batch, ids)
        limit = asyncio.Semaphore(self.settings.notify_concurrency)

        async def one(row: Claimed) -> None:
            async with limit:
                await self._process(row)

        await asyncio.gather(*(one(row) for row in claimed))
        return len(claimed)

    # -- database steps (run in a thread) --------------------------------------------------

    def _free_lease(self, now: int) -> sa.ColumnElement[bool]:
        return sa.or_(D.lease_until_ms.is_(None), D.lease_until_ms < now)

    def _claim(self, limit: int, ids: Sequence[int] | None = None) -> list[Claimed]:
        now = self.clock()
        token = uuid.uuid4().hex
        until = now + int(self.settings.notify_lease_s * 1000)
        with self.meta.session() as s:
            query = sa.select(D.id).where(D.status == "pending", self._free_lease(now))
            if ids is not None:
                query = query.where(D.id.in_(list(ids)))
            else:
                query = query.where(D.next_attempt_ms <= now)
            candidates = list(s.scalars(query.order_by(D.next_attempt_ms, D.id).limit(limit)))
            if not candidates:
                return []
            s.execute(
                sa.update(TABLE)
                .where(TABLE.c.id.in_(candidates), TABLE.c.status == "pending")
                .where(sa.or_(TABLE.c.lease_until_ms.is_(None), TABLE.c.lease_until_ms < now))
                .values(lease_token=token, lease_until_ms=until)
            )
            rows = s.execute(sa.select(TABLE).where(TABLE.c.lease_token == token)).all()
            channels: dict[tuple[str, str], ChannelSpec | None] = {}
            for row in rows:
                ref = (row.tenant_id, row.channel_id)
                if ref not in channels:
                    found = s.get(NotificationChannel, ref)
                    channels[ref] = None if found is None else _spec(found, self.sealer)
        return [
            Claimed(
                id=row.id,
                key=row.key,
                tenant=row.tenant_id,
                channel_id=row.channel_id,
                purpose=row.purpose,
                severity=row.severity,
                notice=dict(row.notice),
                attempts=row.attempts,
                admitted=row.admitted,
                created_ms=row.created_ms,
                committed_ms=row.committed_ms,
                retried_ms=row.retried_ms,
                token=token,
                channel=channels[(row.tenant_id, row.channel_id)],
            )
            for row in rows
        ]

    def _update(self, row: Claimed, **values: Any) -> bool:
        """Change a row this worker still holds; False when its lease was lost meanwhile."""
        with self.meta.session() as s:
            done = s.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == row.id, TABLE.c.lease_token == row.token)
                .values(lease_token=None, lease_until_ms=None, **values)
            )
            return bool(getattr(done, "rowcount", 0))

    def _admit(self, row: Claimed, channel: ChannelSpec, now: int) -> bool:
        """Take a place in the channel's rate window (and mark the row), or suppress it."""
        assert channel.rate_per_minute is not None
        summary = False
        with self.meta.session() as s:
            admission = limits.admit(s, row.tenant, channel.id, channel.rate_per_minute, now)
            mine = sa.and_(TABLE.c.id == row.id, TABLE.c.lease_token == row.token)
            if admission.admitted:
                s.execute(sa.update(TABLE).where(mine).values(admitted=True))
            else:
                s.execute(
                    sa.update(TABLE)
                    .where(mine)
                    .values(
                        status="suppressed",
                        note="suppressed by the channel's rate limit",
                        lease_token=None,
                        lease_until_ms=None,
                    )
                )
            if admission.summary:
                insert_ignoring_duplicates(
                    s,
                    [
                        summary_row(
                            row.tenant,
                            channel.id,
                            admission.summary_window_ms,
                            admission.summary,
                            now,
                        )
                    ],
                )
                summary = True
        if summary:
            self.wake()
        return admission.admitted

    def _sweep(self) -> None:
        """Summaries for rate windows that closed with suppressed notices and no notice since."""
        now = self.clock()
        with self.meta.session() as s:
            rows = [
                summary_row(tenant, channel, start, count, now)
                for tenant, channel, start, count in limits.closed_windows(s, now)
            ]
            insert_ignoring_duplicates(s, rows)

    # -- one delivery ----------------------------------------------------------------------

    async def _process(self, row: Claimed) -> None:
        channel = row.channel
        kind = channel.kind if channel is not None else "unknown"
        if channel is None:
            await self._dead(row, kind, f"channel {row.channel_id!r} no longer exists")
            return
        if not channel.enabled:
            await self._dead(row, kind, f"channel {channel.id!r} is disabled")
            return
        now = self.clock()
        if row.purpose != "test":
            until = limits.quiet_until(channel.quiet_hours, now)
            bypass = bool((channel.quiet_hours or {}).get("critical_bypass", True))
            if until is not None and not (row.severity == "critical" and bypass):
                metrics.HELD.labels(kind).inc()
                self.stats["held"] += 1
                await asyncio.to_thread(
                    self._update, row, next_attempt_ms=until, note="held by quiet hours"
                )
                return
        limited = row.purpose == "notice" and not row.admitted and channel.rate_per_minute
        if limited and not await asyncio.to_thread(self._admit, row, channel, now):
            metrics.SUPPRESSED.labels(kind).inc()
            self.stats["suppressed"] += 1
            return
        sender = SENDERS.get(kind)
        try:
            if sender is None:
                raise SendFailed(f"no sender for channel kind {kind!r}", permanent=True)
            await sender(self._context(), channel, row.notice)
        except SendFailed as exc:
            await self._failed(row, kind, exc.message, permanent=exc.permanent)
        except Exception as exc:  # a sender's bug must not lose the row: it is retried
            log.exception("notification %s: sender %s crashed", row.key, kind)
            await self._failed(row, kind, f"{type(exc).__name__}: {exc}")
        else:
            await self._sent(row, kind)

    async def _sent(self, row: Claimed, kind: str) -> None:
        now = self.clock()
        ok = await asyncio.to_thread(
            self._update,
            row,
            status="sent",
            sent_ms=now,
            attempts=row.attempts + 1,
            last_error=None,
            note=None,
        )
        metrics.SENT.labels(kind).inc()
        self.stats["sent"] += 1
        if row.committed_ms:
            metrics.LATENCY.labels(kind).observe(max(0, now - row.committed_ms) / 1000)
        if not ok:
            log.warning("notification %s was sent but its lease had run out", row.key)

    def backoff_ms(self, attempts: int) -> int:
        """Exponential from ``notify_backoff_min_s`` to ``notify_backoff_max_s``, each delay
        drawn between half and all of it (so failed receivers are not hit in lockstep)."""
        s = self.settings
        base = min(s.notify_backoff_max_s, s.notify_backoff_min_s * 2 ** max(0, attempts - 1))
        return int(base * 1000 * (0.5 + self._rng.random() / 2))

    async def _failed(
        self, row: Claimed, kind: str, error: str, *, permanent: bool = False
    ) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        age_ms = now - (row.retried_ms or row.created_ms)
        s = self.settings
        give_up = (
            permanent
            or row.purpose == "test"  # a test says what happened once; it is not retried
            or attempts >= s.notify_max_attempts
            or age_ms >= s.notify_max_age_s * 1000
        )
        metrics.FAILED.labels(kind).inc()
        self.stats["failed"] += 1
        if give_up:
            await self._dead(row, kind, error, attempts=attempts)
            return
        await asyncio.to_thread(
            self._update,
            row,
            attempts=attempts,
            last_error=error[:MAX_ERROR],
            next_attempt_ms=now + self.backoff_ms(attempts),
            note=None,
        )

    async def _dead(
        self, row: Claimed, kind: str, error: str, *, attempts: int | None = None
    ) -> None:
        metrics.DEAD.labels(kind).inc()
        self.stats["dead"] += 1
        log.warning("notification %s is dead: %s", row.key, error)
        await asyncio.to_thread(
            self._update,
            row,
            status="dead",
            attempts=row.attempts + 1 if attempts is None else attempts,
            last_error=error[:MAX_ERROR],
            note=None,
        )


def _spec(row: NotificationChannel, sealer: Sealer) -> ChannelSpec:
    try:
        config = open_config(dict(row.config), sealer)
    except SealError as exc:  # a wrong or lost key: the send fails on the config, loudly
        log.error("channel %s/%s: cannot open its secrets: %s", row.tenant_id, row.id, exc)
        config = {}
    return ChannelSpec(
        tenant=row.tenant_id,
        id=row.id,
        name=row.name,
        kind=row.kind,
        config=config,
        enabled=row.enabled,
        rate_per_minute=row.rate_per_minute,
        quiet_hours=dict(row.quiet_hours) if row.quiet_hours else None,
    )
