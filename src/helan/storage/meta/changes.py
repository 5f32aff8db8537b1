"""Change notifications delivered off the committing connection, one worker per listener.

Why: a listener that reads the database (the device directory reloading the rows a commit
touched) used to run inside ``after_commit``, while the committer still held its connection.
Sixteen concurrent commits then held fifteen connections and each wanted a second: the pool
(5 + 10) ran dry and the listeners failed, so the in-memory directory missed devices.

Now a commit only merges its changes into each listener's pending set (no I/O, no connection)
and one thread per listener applies everything pending in a single call: a burst of commits
costs one reload, and a listener never runs concurrently with itself, so an older reload can
never overwrite a newer one. The committing thread, once its session has returned its
connection, waits (bounded) until its changes are applied, so a client that created a device
can use its credential on the next request. A failing call keeps its changes and is retried
with exponential backoff; the failure is logged at ERROR and shows in :attr:`healthy` until a
retry succeeds: a change is never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# table -> primary keys of the rows a commit touched; None when a bulk statement hid which.
Changes = Mapping[str, frozenset[tuple[Any, ...]] | None]
ChangeListener = Callable[[Changes], None]
Pending = dict[str, set[tuple[Any, ...]] | None]

RETRY_FIRST_S = 0.05
RETRY_MAX_S = 5.0


def merge(into: Pending, changes: Mapping[str, Any]) -> None:
    """Union ``changes`` into ``into``; a table whose keys are unknown (None) stays unknown."""
    for table, keys in changes.items():
        if table in into and into[table] is None:
            continue
        if keys is None:
            into[table] = None
            continue
        current = into.setdefault(table, set())
        assert current is not None
        current.update(keys)


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    """What a health check reports for one listener."""

    name: str
    healthy: bool
    failures: int  # failed calls since start (each was retried)
    last_error: str | None
    pending: bool  # changes not applied yet


class ListenerWorker:
    """Applies one listener's changes in its own thread, coalesced, retried until applied."""

    def __init__(self, listener: ChangeListener) -> None:
        self.listener = listener
        self.name = getattr(listener, "__qualname__", repr(listener))
        self._cond = threading.Condition()
        self._pending: Pending = {}
        self._submitted = 0  # tickets handed out
        self._applied = 0  # every ticket up to this one is applied
        self._retry_at = 0.0
        self._delay = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._last_error: str | None = None

    @property
    def healthy(self) -> bool:
        return self._last_error is None

    def status(self) -> ListenerStatus:
        with self._cond:
            return ListenerStatus(
                name=self.name,
                healthy=self._last_error is None,
                failures=self._failures,
                last_error=self._last_error,
                pending=self._applied < self._submitted,
            )

    def submit(self, changes: Changes) -> int:
        """Queue ``changes`` (cheap, no I/O) and return the ticket to :meth:`wait` on."""
        with self._cond:
            if self._closed:
                return 0
            merge(self._pending, changes)
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"meta-listener:{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return self._submitted

    def wait(self, ticket: int, timeout: float) -> bool:
        """Block until ``ticket`` is applied (True), or ``timeout`` passes (False). The
        listener's own thread never waits on itself."""
        if threading.current_thread() is self._thread:
            return False
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._applied < ticket and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self._applied >= ticket

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _take(self) -> tuple[Changes, int] | None:
        """The next batch to apply, waiting for one (and for the backoff); None once closed."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._pending and now >= self._retry_at:
                    batch, self._pending = self._pending, {}
                    frozen = {t: None if k is None else frozenset(k) for t, k in batch.items()}
                    return frozen, self._submitted
                self._cond.wait(self._retry_at - now if self._pending else None)
            if self._pending:
                log.warning("metadata listener %s closed with changes not applied", self.name)
            return None

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            changes, ticket = taken
            try:
                self.listener(changes)
            except Exception as exc:  # noqa: BLE001 - any failure is kept and retried, never lost
                self._failed(changes, exc)
                continue
            with self._cond:
                if self._last_error is not None:
                    log.info("metadata listener %s recovered", self.name)
                self._last_error = None
                self._delay = 0.0
                self._applied = ticket
                self._cond.notify_all()

    def _failed(self, changes: Changes, exc: Exception) -> None:
        with self._cond:
            merge(self._pending, changes)
            self._failures += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._delay = min(max(self._delay * 2, RETRY_FIRST_S), RETRY_MAX_S)
            self._retry_at = time.monotonic() + self._delay
            delay = self._delay
        log.error(
            "metadata change listener %s failed (retrying in %.2f s)",
            self.name,
            delay,
            exc_info=exc,
        )
