"""What gateways read off PLCs (Modbus FC 43/14, OPC UA BuildInfo), kept on the device row.

A gateway sends it as the attribute ``identification`` with its health every few seconds; the
ingest keeps other attributes in memory only, but the inventory is read from the device rows
(every process sees them, they survive restarts), so this one is written there - checked, and
only when it differs from what was last written, so the repeats cost a dict comparison.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device

log = logging.getLogger(__name__)

FIELDS = frozenset(
    {
        "vendor_name",
        "product_code",
        "revision",
        "product_name",
        "model_name",
        "manufacturer",
        "product",
        "software_version",
    }
)
SOURCES = frozenset({"modbus", "opcua"})
MAX_CHARS = 200


class BadIdentification(ValueError):
    """An ``identification`` attribute that is not what a gateway reports."""


def clean(value: Any) -> dict[str, str]:
    """The identification as stored: known fields only, text without control characters."""
    if not isinstance(value, Mapping):
        raise BadIdentification("identification must be an object")
    source = value.get("source")
    if source not in SOURCES:
        raise BadIdentification(f"identification.source must be one of {sorted(SOURCES)}")
    out: dict[str, str] = {"source": source}
    for key, v in value.items():
        if key == "source":
            continue
        if key not in FIELDS:
            raise BadIdentification(f"identification.{str(key)[:40]} is not a known field")
        if not isinstance(v, str) or len(v) > MAX_CHARS:
            raise BadIdentification(f"identification.{key} must be text of <= {MAX_CHARS} chars")
        text = "".join(c for c in v if c.isprintable()).strip()
        if text:
            out[key] = text
    if len(out) == 1:
        raise BadIdentification("identification names nothing")
    return out


def store(meta: MetaStore, tenant: str, device: str, ident: dict[str, str]) -> bool:
    """Write ``ident`` into the device's attributes; False when the device is gone or
    already has it."""
    with meta.session() as s:
        row = s.get(Device, (tenant, device))
        if row is None or (row.attributes or {}).get("identification") == ident:
            return False
        row.attributes = {**(row.attributes or {}), "identification": ident}
    return True


class IdentificationRecorder:
    """Hands reported identifications to :func:`store` in a worker thread, each (tenant,
    device) only when it changed since this process last wrote it."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta
        self._written: dict[tuple[str, str], dict[str, str]] = {}
        self._pending: set[asyncio.Future[None]] = set()

    def offer(self, tenant: str, device: str, value: Any) -> None:
        """Record a reported identification; raises :class:`BadIdentification`."""
        ident = clean(value)
        key = (tenant, device)
        if self._written.get(key) == ident:
            return
        self._written[key] = ident
        done = asyncio.get_running_loop().run_in_executor(None, self._store, key, ident)
        self._pending.add(done)
        done.add_done_callback(self._pending.discard)

    def _store(self, key: tuple[str, str], ident: dict[str, str]) -> None:
        try:
            store(self.meta, key[0], key[1], ident)
        except Exception:  # the store is down: forget it, so the next report tries again
            self._written.pop(key, None)
            log.exception("identification of %s/%s not stored", *key)

    async def drain(self) -> None:
        """Wait for the writes handed out so far (tests; a clean stop)."""
        while self._pending:
            await asyncio.gather(*list(self._pending))
