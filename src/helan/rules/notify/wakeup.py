"""A wake-up from a committed enqueue to the delivery workers of the same process, so a new
notice goes out at once instead of at the next poll (other processes still poll)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from helan.storage.meta import MetaStore

_lock = threading.Lock()
_waiters: weakref.WeakKeyDictionary[MetaStore, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)


def subscribe(meta: MetaStore, wake: Callable[[], None]) -> None:
    with _lock:
        _waiters.setdefault(meta, []).append(wake)


def unsubscribe(meta: MetaStore, wake: Callable[[], None]) -> None:
    with _lock:
        waiters = _waiters.get(meta, [])
        if wake in waiters:
            waiters.remove(wake)


def wake(meta: MetaStore) -> None:
    """Called after a commit (any thread); each waiter must be thread-safe."""
    with _lock:
        waiters = list(_waiters.get(meta, []))
    for waiter in waiters:
        waiter()
