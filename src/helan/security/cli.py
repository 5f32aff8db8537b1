"""``helan security``: the security centre's offline tools."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from helan.security.advisories.cli import import_advisories
from helan.security.traffic.detector import Packet, TrafficDetector, Verdict
from helan.security.traffic.evaluate import read_labels, score
from helan.security.traffic.pcap import PcapError

app = typer.Typer(help="Security centre: traffic captures, advisories.", no_args_is_help=True)


@app.callback()
def security() -> None:
    """Security centre: traffic captures, advisories."""


class Show(StrEnum):
    """Which packets get a verdict line."""

    ALERTS = "alerts"
    FLAGGED = "flagged"
    NONE = "none"


@app.command()
def pcap(
    file: Annotated[Path, typer.Argument(help="pcap or pcapng capture.")],
    learn_s: Annotated[
        float, typer.Option(help="Seconds from the first packet learned as normal.")
    ] = 10.0,
    labels: Annotated[
        Path | None,
        typer.Option(help="'packet;0|1' per line (1 = malicious): recall and false alarms."),
    ] = None,
    show: Annotated[
        Show, typer.Option(help="Verdict lines: packets raising an alert, every flagged one, none.")
    ] = Show.ALERTS,
) -> None:
    """Score a capture against the allow-list learned from its start: one line per alerting
    packet, then one JSON line with the figures."""

    def each(number: int, packet: Packet, verdict: Verdict) -> None:
        if show is Show.NONE or not (verdict.alerts or (show is Show.FLAGGED and verdict.flagged)):
            return
        what = "; ".join(f"{a.kind}[{a.severity}] {a.detail}" for a in verdict.alerts)
        typer.echo(
            f"{number}\t{packet.ts:.6f}\t{packet.src}:{packet.sport} > {packet.dst}:{packet.dport}"
            f"\t{'ALERT ' + what if what else 'flagged'}"
        )

    try:
        truth = read_labels(labels) if labels is not None else None
        summary = score(file, TrafficDetector(learn_s=learn_s), labels=truth, each=each)
    except (OSError, PcapError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"file": file.name, "learn_s": learn_s, **summary.figures()}))


app.command("import")(import_advisories)
