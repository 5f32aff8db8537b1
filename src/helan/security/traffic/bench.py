"""The traffic detector's figures for ``helan bench security``: each labelled capture of a
folder scored after learning its first ``learn_s`` seconds (recall, false-alarm rate, rate)."""

from __future__ import annotations

from pathlib import Path

from helan.security.traffic.detector import TrafficDetector
from helan.security.traffic.evaluate import read_labels, score


def figures(folder: Path, *, learn_s: float = 10.0) -> dict[str, dict[str, object]]:
    """Per capture ``NAME.pcap`` with a ``NAME_labeled.csv`` beside it: its figures (recall,
    false_alarm_rate, packets_per_s, alerts ...). An empty dict when there are none."""
    out: dict[str, dict[str, object]] = {}
    for pcap in sorted(folder.glob("*.pcap")):
        labels = pcap.with_name(f"{pcap.stem}_labeled.csv")
        if labels.exists():
            summary = score(pcap, TrafficDetector(learn_s=learn_s), labels=read_labels(labels))
            out[pcap.stem] = summary.figures()
    return out
