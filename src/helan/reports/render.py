"""A report definition plus a time range becomes a :class:`~helan.reports.pdf.ReportDocument`:
the series it names (directly, or through a dashboard's widgets), grouped by device, each
device a section with a chart of bucketed averages and its min / average / max / last.

The bucket follows the range (about 240 points a chart), so a month reads the store's roll-ups
rather than every raw point. The average shown is the mean of the bucket averages (buckets
weigh the same whatever their point count), which is what the chart shows too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helan.reports.pdf import ReportDocument, Section, Series
from helan.reports.tables import series_table
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, DeviceType
from helan.storage.meta.models_console import Dashboard, ReportDefinition
from helan.storage.telemetry.base import TelemetryStore

BUCKETS_MS = (60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000, 86_400_000)
POINTS_PER_CHART = 240
SERIES_WIDGETS = ("timeseries", "bar", "table", "state_timeline")
SINGLE_WIDGETS = ("gauge", "value")


def bucket_for(span_ms: int) -> int:
    want = span_ms / POINTS_PER_CHART
    return next((b for b in BUCKETS_MS if b >= want), BUCKETS_MS[-1])


def dashboard_series(spec: dict[str, Any]) -> list[dict[str, str]]:
    """Every (device, metric) a dashboard's widgets draw, once each, in widget order."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for widget in spec.get("widgets", []):
        config = widget.get("config", {})
        if widget.get("type") in SERIES_WIDGETS:
            pairs: Iterable[dict[str, Any]] = config.get("series", [])
        elif widget.get("type") in SINGLE_WIDGETS:
            pairs = [config]
        else:
            continue
        for pair in pairs:
            key = (pair["device"], pair["metric"])
            entry = {"device": key[0], "metric": key[1]}
            if pair.get("label"):
                entry["label"] = pair["label"]
            out.setdefault(key, entry)
    return list(out.values())


def _series_of(meta: MetaStore, definition: ReportDefinition) -> list[dict[str, str]]:
    source = definition.source
    if source.get("dashboard"):
        with meta.session() as s:
            board = s.get(Dashboard, (definition.tenant_id, source["dashboard"]))
        return dashboard_series(board.spec) if board is not None else []
    return list(source.get("series", []))


def _devices(
    meta: MetaStore, tenant: str, devices: list[str]
) -> dict[str, tuple[str, dict[str, str]]]:
    """device -> (display name, metric -> unit)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    with meta.session() as s:
        for device in devices:
            row = s.get(Device, (tenant, device))
            if row is None:
                continue
            units: dict[str, str] = {}
            kind = s.get(DeviceType, (tenant, row.device_type_id)) if row.device_type_id else None
            for prop in kind.properties if kind is not None else []:
                if isinstance(prop, dict) and prop.get("unit"):
                    units[str(prop["name"])] = str(prop["unit"])
            out[device] = (row.name, units)
    return out


def build_document(
    meta: MetaStore,
    telemetry: TelemetryStore,
    definition: ReportDefinition,
    start_ms: int,
    end_ms: int,
    generated_ms: int,
) -> ReportDocument:
    """Blocks (metadata and store queries): run it in a thread."""
    wanted = _series_of(meta, definition)
    by_device: dict[str, list[dict[str, str]]] = {}
    for entry in wanted:
        by_device.setdefault(entry["device"], []).append(entry)
    known = _devices(meta, definition.tenant_id, list(by_device))
    bucket = bucket_for(end_ms - start_ms)
    sections = []
    for device, entries in by_device.items():
        name, units = known.get(device, (device, {}))
        metrics = [e["metric"] for e in entries]
        tables = (
            {
                fn: series_table(
                    telemetry,
                    None,
                    definition.tenant_id,
                    device,
                    metrics,
                    start_ms,
                    end_ms,
                    bucket_ms=bucket,
                    fn=fn,
                )
                for fn in ("avg", "min", "max", "last")
            }
            if device in known
            else {}
        )
        series = []
        for i, entry in enumerate(entries):
            avg = (
                [(r[0], r[i + 1]) for r in tables["avg"].rows if r[i + 1] is not None]
                if tables
                else []
            )
            mins = [r[i + 1] for r in tables["min"].rows if r[i + 1] is not None] if tables else []
            maxs = [r[i + 1] for r in tables["max"].rows if r[i + 1] is not None] if tables else []
            lasts = (
                [r[i + 1] for r in tables["last"].rows if r[i + 1] is not None] if tables else []
            )
            series.append(
                Series(
                    label=entry.get("label") or entry["metric"],
                    unit=units.get(entry["metric"]),
                    points=avg,
                    minimum=min(mins) if mins else None,
                    average=sum(v for _, v in avg) / len(avg) if avg else None,
                    maximum=max(maxs) if maxs else None,
                    last=lasts[-1] if lasts else None,
                )
            )
        title = name if name == device else f"{name} ({device})"
        sections.append(Section(title, series))
    zh = definition.language == "zh-CN"
    return ReportDocument(
        title=definition.title_zh if zh else definition.title_en,
        tenant=definition.tenant_id,
        language=definition.language,
        timezone=definition.timezone,
        start_ms=start_ms,
        end_ms=end_ms,
        generated_ms=generated_ms,
        sections=sections,
    )
