"""Integrity checks on a claim: where the platform's own data contradicts what an enterprise
says it uses. Each check returns findings with the evidence a reviewer needs; a finding
flags the application for review, it does not decide it.

- ``never_connected``: a claimed device that does not exist, or never came online;
- ``constant``: a metric that did not change once over the sample (real sensors jitter);
- ``replayed``: a run of values that occurs twice (data copied from an earlier period);
- ``periodic``: a metric that repeats itself exactly with a short period (a generator);
- ``count_jump``: most claimed devices registered just before the scheme's deadline.

Values are compared exactly on purpose: a sensor's noise makes exact repetition of
:data:`RUN` consecutive readings practically impossible, so what repeats exactly was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MIN_POINTS = 30  # shorter samples prove nothing either way
RUN = 12  # consecutive values that must repeat exactly to call it a replay
JUMP_WINDOW = timedelta(days=30)
JUMP_SHARE = 0.5  # more than half the claimed devices registered within the window
JUMP_MIN_DEVICES = 4


@dataclass(slots=True, kw_only=True)
class Finding:
    check: str
    device: str | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "device": self.device,
            "message": self.message,
            "evidence": self.evidence,
        }


@dataclass(slots=True, kw_only=True)
class DeviceEvidence:
    device: str
    exists: bool
    created_at: datetime | None = None
    first_online_ms: int | None = None
    # metric -> (timestamps ms, values), oldest first
    samples: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)


def never_connected(devices: Sequence[DeviceEvidence]) -> list[Finding]:
    out = []
    for d in devices:
        if not d.exists:
            out.append(
                Finding(
                    check="never_connected",
                    device=d.device,
                    message=f"claimed device {d.device!r} is not registered on the platform",
                    evidence={"registered": False},
                )
            )
        elif d.first_online_ms is None:
            out.append(
                Finding(
                    check="never_connected",
                    device=d.device,
                    message=f"claimed device {d.device!r} never came online",
                    evidence={"registered": True, "online_events": 0},
                )
            )
    return out


def _period(values: Sequence[float]) -> int | None:
    """The shortest p ≤ n/3 with values[i] == values[i + p] for every i, if any."""
    n = len(values)
    for p in range(1, n // 3 + 1):
        if all(values[i] == values[i + p] for i in range(n - p)):
            return p
    return None


def _replay(values: Sequence[float]) -> tuple[int, int] | None:
    """Start indices (first, again) of a run of RUN values occurring twice, if any."""
    seen: dict[tuple[float, ...], int] = {}
    for i in range(len(values) - RUN + 1):
        window = tuple(values[i : i + RUN])
        if len(set(window)) == 1:
            continue  # a flat stretch is the constant check's business
        first = seen.get(window)
        if first is not None and i - first >= RUN:
            return first, i
        seen.setdefault(window, i)
    return None


def synthetic(devices: Sequence[DeviceEvidence]) -> list[Finding]:
    """Constant, perfectly periodic or replayed telemetry, per device and metric."""
    out: list[Finding] = []
    for d in devices:
        for metric, (ts, values) in sorted(d.samples.items()):
            n = len(values)
            if n < MIN_POINTS:
                continue
            span = {"metric": metric, "points": n, "from_ms": ts[0], "to_ms": ts[-1]}
            if len(set(values)) == 1:
                out.append(
                    Finding(
                        check="constant",
                        device=d.device,
                        message=f"{d.device}/{metric}: {n} readings all equal {values[0]!r}",
                        evidence={**span, "value": values[0]},
                    )
                )
                continue
            period = _period(values)
            if period is not None:
                out.append(
                    Finding(
                        check="periodic",
                        device=d.device,
                        message=(
                            f"{d.device}/{metric}: repeats itself exactly every {period} "
                            f"readings over {n}"
                        ),
                        evidence={**span, "period": period, "cycle": values[:period][:24]},
                    )
                )
                continue
            replay = _replay(values)
            if replay is not None:
                a, b = replay
                out.append(
                    Finding(
                        check="replayed",
                        device=d.device,
                        message=(
                            f"{d.device}/{metric}: the {RUN} readings from {ts[a]} occur again "
                            f"from {ts[b]}"
                        ),
                        evidence={
                            **span,
                            "first_ms": ts[a],
                            "again_ms": ts[b],
                            "values": values[a : a + RUN],
                        },
                    )
                )
    return out


def count_jump(devices: Sequence[DeviceEvidence], deadline: datetime) -> list[Finding]:
    """Most claimed devices registered within JUMP_WINDOW before the deadline."""
    made = [d.created_at for d in devices if d.exists and d.created_at is not None]
    if len(made) < JUMP_MIN_DEVICES:
        return []
    start = deadline - JUMP_WINDOW
    late = [t for t in made if start <= t <= deadline]
    if len(late) <= JUMP_SHARE * len(made):
        return []
    return [
        Finding(
            check="count_jump",
            device=None,
            message=(
                f"{len(late)} of {len(made)} claimed devices were registered in the "
                f"{JUMP_WINDOW.days} days before the deadline {deadline.date().isoformat()}"
            ),
            evidence={
                "registered_in_window": len(late),
                "claimed": len(made),
                "window_start": start.isoformat(),
                "deadline": deadline.isoformat(),
            },
        )
    ]


def check_claim(devices: Sequence[DeviceEvidence], deadline: datetime) -> list[Finding]:
    return [*never_connected(devices), *synthetic(devices), *count_jump(devices, deadline)]
