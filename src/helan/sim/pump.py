"""A pump station replaying SKAB's anomaly-free pump-rig recording at 1 Hz, looped."""

from __future__ import annotations

from functools import cache

from helan.sim.data import NORMAL_RUN, skab
from helan.sim.metrics import PUMP, PUMP_COLUMNS, KindDef, SimEvent, Value


@cache
def _normal_rows() -> list[list[float]]:
    return skab(NORMAL_RUN).values.tolist()  # type: ignore[no-any-return]


class PumpModel:
    """Row ``(t + offset) mod length`` of the recording: each pump has its own offset."""

    kind: KindDef = PUMP

    def __init__(self, *, offset: int) -> None:
        self._rows = _normal_rows()
        self._offset = offset

    def take_events(self) -> list[SimEvent]:
        return []  # no events in this kind's thing model

    def sample(self, t: float) -> dict[str, Value]:
        row = self._rows[(int(t) + self._offset) % len(self._rows)]
        return dict(zip(PUMP_COLUMNS, row, strict=True))
