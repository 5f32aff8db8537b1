"""A fixed device directory read from a JSON file, for an ingest worker run on its own (the
SIGKILL test, benchmarks, a worker fleet fed a snapshot of the metadata store).

File: ``[{"tenant", "device", "username", "secret", "metrics": [{"name", "type", "min", "max"}],
"events": [{"name", "level", "outputs": [{"name", "type", "min", "max", "required"}]}]}]``
(``events`` optional, in the shape of the API's thing model).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from helan.core.thing import DeviceRef, MetricSpec, event_specs


class StaticDirectory:
    def __init__(self, devices: Iterable[tuple[DeviceRef, str, str]]) -> None:
        """``devices``: (ref, username, secret) triples; secrets are kept only as SHA-256."""
        self._refs: dict[tuple[str, str], DeviceRef] = {}
        self._logins: dict[str, tuple[bytes, DeviceRef]] = {}
        for ref, username, secret in devices:
            self._refs[(ref.tenant, ref.device)] = ref
            self._logins[username] = (hashlib.sha256(secret.encode()).digest(), ref)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> StaticDirectory:
        def ref(r: Mapping[str, Any]) -> DeviceRef:
            metrics = {m["name"]: MetricSpec(**m) for m in r.get("metrics", [])}
            return DeviceRef(
                tenant=r["tenant"],
                device=r["device"],
                device_type=r.get("device_type"),
                metrics=metrics,
                events=event_specs(r.get("events", [])),
                enabled=r.get("enabled", True),
                gateway=r.get("gateway"),
            )

        return cls((ref(r), r.get("username", ""), r.get("secret", "")) for r in records)

    @classmethod
    def load(cls, path: Path) -> StaticDirectory:
        return cls.from_records(orjson.loads(path.read_bytes()))

    def lookup(self, tenant: str, device: str) -> DeviceRef | None:
        return self._refs.get((tenant, device))

    def authenticate(self, username: str, password: str) -> DeviceRef | None:
        login = self._logins.get(username)
        if login is None:
            return None
        digest, ref = login
        if hmac.compare_digest(digest, hashlib.sha256(password.encode()).digest()):
            return ref
        return None
