"""The platform's native JSON contract: ``helan/v1/{tenant}/{device}/telemetry`` carrying
``{"ts": ms, "values": {...}}``. Points read BAD are not values; their reasons go to the
device's ``attributes`` as ``edge_bad_points`` whenever that set changes."""

from __future__ import annotations

import orjson

from helan.edge.readings import SampleSet
from helan.edge.uplink.base import Message
from helan.edge.uplink.session import Will
from helan.protocol.native import MAX_POINTS_PER_MESSAGE
from helan.protocol.topics import ROOT


class NativeEncoder:
    def __init__(self, tenant: str, *, max_values: int = MAX_POINTS_PER_MESSAGE) -> None:
        self.tenant = tenant
        self.max_values = max_values
        self._bad: dict[str, dict[str, str]] = {}

    def will(self) -> Will | None:
        return None

    def subscriptions(self) -> tuple[str, ...]:
        return ()

    def session_start(self) -> list[Message]:
        self._bad.clear()  # a new connection states every device's BAD points afresh
        return []

    def needs_rebirth(self) -> bool:
        return False

    def session_end(self) -> list[Message]:
        return []

    def encode(self, sample: SampleSet, *, historical: bool) -> list[Message]:
        base = f"{ROOT}/{self.tenant}/{sample.device}"
        out: list[Message] = []
        items = list(sample.values.items())
        for i in range(0, len(items), self.max_values):
            body = {"ts": sample.ts, "values": dict(items[i : i + self.max_values])}
            out.append(Message(f"{base}/telemetry", orjson.dumps(body)))
        if not historical and sample.bad != self._bad.get(sample.device, {}):
            self._bad[sample.device] = dict(sample.bad)
            body = {"edge_bad_points": sample.bad}
            out.append(Message(f"{base}/attributes", orjson.dumps(body)))
        return out
