"""The metadata database: one engine, sessions, migrations, and change notifications.

Readers that keep metadata in memory (the device directory, the auth cache) subscribe with
:meth:`MetaStore.on_change`; after every commit they hear which rows it touched, so the
ingest hot path never waits on SQL and never serves a stale credential for long. Each listener
runs in its own worker thread (:mod:`helan.storage.meta.changes`), never on the committing
connection; the committer waits, after giving its connection back, until its changes are
applied, so what a client just wrote is what the next request sees.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from helan.core.errors import Conflict, NotFound
from helan.storage.meta.changes import ChangeListener, Changes, ListenerStatus, ListenerWorker

__all__ = ["MIGRATIONS", "ChangeListener", "Changes", "MetaStore", "normalise_url"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# How long a committer waits for the listeners to apply its changes; past it the commit still
# stands and the change still arrives (retried), only later than the writer's next request.
LISTENER_WAIT_S = 5.0


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator chose."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class MetaStore:
    def __init__(self, url: str, *, listener_wait_s: float = LISTENER_WAIT_S) -> None:
        self.url = normalise_url(url)
        self.listener_wait_s = listener_wait_s
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._listeners: list[ListenerWorker] = []
        self._lock = threading.Lock()
        event.listen(self._sessions, "after_flush", _remember_tables)
        event.listen(self._sessions, "after_commit", self._after_commit)
        event.listen(self._sessions, "after_rollback", _forget_tables)
        event.listen(self._sessions, "do_orm_execute", _remember_statement_table)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest revision shipped with this package."""
        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS.as_posix())
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error; a constraint
        violation (duplicate key, row still referenced) becomes :class:`Conflict`."""
        s = self._sessions()
        try:
            with s, s.begin():
                yield s
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"conflicts with existing data: {exc.orig}") from exc
        except StaleDataError as exc:
            # An UPDATE or DELETE found its row gone: another request deleted it meanwhile.
            raise NotFound("the object was deleted while this request changed it") from exc
        # The connection is back in the pool: the listeners' reloads can have it.
        tickets: dict[ListenerWorker, int] = s.info.pop("helan_tickets", {})
        for worker, ticket in tickets.items():
            if not worker.wait(ticket, self.listener_wait_s) and worker.healthy:
                log.warning("metadata listener %s is slow to apply a commit", worker.name)

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener`` (in a worker thread of its own) with the changes of every commit."""
        with self._lock:
            self._listeners.append(ListenerWorker(listener))

    def listener_status(self) -> list[ListenerStatus]:
        """Health of each change listener: a failing one is retried until it succeeds."""
        with self._lock:
            workers = list(self._listeners)
        return [w.status() for w in workers]

    @property
    def listeners_healthy(self) -> bool:
        return all(s.healthy for s in self.listener_status())

    def close(self) -> None:
        with self._lock:
            workers = list(self._listeners)
        for worker in workers:
            worker.close()
        self.engine.dispose()

    def _after_commit(self, session: Session) -> None:
        """Queue the commit's changes for each listener: no I/O while the connection is held."""
        touched: dict[str, set[tuple[Any, ...]] | None] = session.info.pop("helan_changes", {})
        if not touched:
            return
        changes = {t: None if keys is None else frozenset(keys) for t, keys in touched.items()}
        with self._lock:
            workers = list(self._listeners)
        tickets: dict[ListenerWorker, int] = session.info.setdefault("helan_tickets", {})
        for worker in workers:
            tickets[worker] = worker.submit(changes)


def _remember_tables(session: Session, _flush: Any) -> None:
    touched: dict[str, set[tuple[Any, ...]] | None] = session.info.setdefault("helan_changes", {})
    for obj in (*session.new, *session.dirty, *session.deleted):
        mapper = sa.inspect(obj).mapper
        table = mapper.persist_selectable.name
        keys = touched.setdefault(table, set())
        if keys is not None:
            keys.add(tuple(mapper.primary_key_from_instance(obj)))


def _remember_statement_table(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            state.session.info.setdefault("helan_changes", {})[table.name] = None


def _forget_tables(session: Session) -> None:
    session.info.pop("helan_changes", None)
