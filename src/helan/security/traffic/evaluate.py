"""A capture scored by the detector: per-packet verdicts, counts and, with labels, recall and
false-alarm rate over the packets after learning (the CLI and the benchmark share it)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helan.security.traffic.detector import Packet, TrafficDetector, Verdict
from helan.security.traffic.pcap import PcapError, read_packets


@dataclass(slots=True)
class Summary:
    packets: int = 0
    learning: int = 0
    flagged: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    # with labels: malicious and normal packets scored, and how many of each were flagged
    malicious: int = 0
    detected: int = 0
    normal: int = 0
    false_alarms: int = 0

    def figures(self) -> dict[str, object]:
        out: dict[str, object] = {
            "packets": self.packets,
            "learning_packets": self.learning,
            "flagged": self.flagged,
            "alerts": dict(sorted(self.alerts.items())),
            "packets_per_s": round(self.packets / self.seconds) if self.seconds else None,
        }
        if self.malicious or self.normal:
            out |= {
                "malicious": self.malicious,
                "normal": self.normal,
                "recall": round(self.detected / self.malicious, 4) if self.malicious else None,
                "false_alarm_rate": round(self.false_alarms / self.normal, 4)
                if self.normal
                else None,
            }
        return out


def read_labels(path: Path) -> list[bool]:
    """``packet_number;label`` lines (1 = malicious), numbered from 1 in file order; a header
    line is skipped. Raises ValueError on anything else."""
    labels: list[bool] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.strip().split(";")
        if not line.strip() or (n == 1 and not parts[0].isdigit()):
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1") or int(parts[0]) != len(labels) + 1:
            raise ValueError(f"{path}:{n}: expected '{len(labels) + 1};0|1', got {line!r}")
        labels.append(parts[1] == "1")
    return labels


def score(
    path: Path,
    detector: TrafficDetector,
    *,
    labels: list[bool] | None = None,
    each: Callable[[int, Packet, Verdict], None] | None = None,
) -> Summary:
    """Run ``detector`` over the capture at ``path``; ``each`` sees every packet (numbered
    from 1) and its verdict. Raises PcapError, and ValueError when labels and packets differ."""
    summary = Summary()
    started = time.perf_counter()
    for number, packet in enumerate(read_packets(path), 1):
        verdict = detector.observe(packet)
        summary.packets = number
        summary.alerts.update(a.kind for a in verdict.alerts)
        if verdict.learning:
            summary.learning += 1
        summary.flagged += verdict.flagged
        if labels is not None and not verdict.learning:
            if number > len(labels):
                raise PcapError(f"{path}: packet {number} has no label ({len(labels)} labels)")
            if labels[number - 1]:
                summary.malicious += 1
                summary.detected += verdict.flagged
            else:
                summary.normal += 1
                summary.false_alarms += verdict.flagged
        if each is not None:
            each(number, packet, verdict)
    summary.seconds = time.perf_counter() - started
    if labels is not None and len(labels) != summary.packets:
        raise ValueError(f"{len(labels)} labels for {summary.packets} packets")
    return summary
