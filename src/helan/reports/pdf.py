"""A report as PDF: title, range, and per section a line chart (``reportlab.graphics``) and a
summary table (min, average, max, last), every text in the CJK font so Chinese prints as
Chinese. Pure: takes the figures, returns bytes; the data comes from :mod:`.render`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.legends import Legend  # type: ignore[import-untyped]
from reportlab.graphics.charts.lineplots import LinePlot  # type: ignore[import-untyped]
from reportlab.graphics.shapes import Drawing, String  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from helan.reports.fonts import cjk_font

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
LABELS = {
    "zh-CN": {
        "range": "时间范围",
        "generated": "生成时间",
        "tenant": "企业",
        "metric": "指标",
        "min": "最小值",
        "avg": "平均值",
        "max": "最大值",
        "last": "最新值",
        "no_data": "此时间范围内无数据",
        "footer": "赫兰工业互联网平台",
    },
    "en": {
        "range": "Range",
        "generated": "Generated",
        "tenant": "Tenant",
        "metric": "Metric",
        "min": "Min",
        "avg": "Average",
        "max": "Max",
        "last": "Last",
        "no_data": "No data in this range",
        "footer": "Helan industrial internet platform",
    },
}


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    unit: str | None
    points: Sequence[tuple[int, float]]  # (epoch ms, value), by time
    minimum: float | None = None
    average: float | None = None
    maximum: float | None = None
    last: float | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    series: Sequence[Series]


@dataclass(frozen=True, slots=True)
class ReportDocument:
    title: str
    tenant: str
    language: str
    timezone: str
    start_ms: int
    end_ms: int
    generated_ms: int
    sections: Sequence[Section] = field(default_factory=list)


def _when(ms: int, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime(fmt)


def _number(value: float | None, unit: str | None) -> str:
    if value is None:
        return "–"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text


def _chart(section: Section, doc: ReportDocument, font: str, tz: ZoneInfo) -> Drawing:
    width, height = 170 * mm, 62 * mm
    drawing = Drawing(width, height)
    drawn = [s for s in section.series if s.points]
    if not drawn:
        drawing.add(
            String(
                width / 2,
                height / 2,
                LABELS[doc.language]["no_data"],
                fontName=font,
                fontSize=10,
                textAnchor="middle",
                fillColor=colors.grey,
            )
        )
        return drawing
    plot = LinePlot()
    plot.x, plot.y = 36, 30
    plot.width, plot.height = width - 50, height - 50
    plot.data = [[(ts, v) for ts, v in s.points] for s in drawn]
    for i, _ in enumerate(drawn):
        plot.lines[i].strokeColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        plot.lines[i].strokeWidth = 1.2
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = doc.start_ms, doc.end_ms
    span = doc.end_ms - doc.start_ms
    fmt = "%H:%M" if span <= 2 * 86_400_000 else "%m-%d"
    plot.xValueAxis.valueSteps = [doc.start_ms + span * k // 6 for k in range(7)]
    plot.xValueAxis.labelTextFormat = lambda v: _when(int(v), tz, fmt)
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = font
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    plot.yValueAxis.gridStrokeColor = colors.HexColor("#e5e7eb")
    plot.yValueAxis.visibleGrid = True
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y = 40, height - 6
    legend.fontName, legend.fontSize = font, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx = legend.dy = 6
    legend.deltax = 90
    legend.colorNamePairs = [
        (colors.HexColor(PALETTE[i % len(PALETTE)]), s.label) for i, s in enumerate(drawn)
    ]
    drawing.add(legend)
    return drawing


def render_pdf(doc: ReportDocument) -> bytes:
    """The PDF's bytes. Raises :class:`helan.reports.fonts.FontMissing` without a CJK font."""
    font = cjk_font()
    labels = LABELS.get(doc.language, LABELS["en"])
    tz = ZoneInfo(doc.timezone)
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=6)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    heading = ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=10)
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=doc.title,
        author=labels["footer"],
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    story: list[object] = [
        Paragraph(_escape(doc.title), title),
        Paragraph(
            f"{labels['tenant']}: {_escape(doc.tenant)}　{labels['range']}: "
            f"{_when(doc.start_ms, tz)} – {_when(doc.end_ms, tz)} ({doc.timezone})　"
            f"{labels['generated']}: {_when(doc.generated_ms, tz)}",
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    for section in doc.sections:
        rows = [[labels["metric"], labels["min"], labels["avg"], labels["max"], labels["last"]]]
        rows += [
            [
                s.label,
                _number(s.minimum, s.unit),
                _number(s.average, s.unit),
                _number(s.maximum, s.unit),
                _number(s.last, s.unit),
            ]
            for s in section.series
        ]
        table = Table(rows, colWidths=[58 * mm, 28 * mm, 28 * mm, 28 * mm, 28 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6")),
                    ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.HexColor("#9ca3af")),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#e5e7eb")),
                ]
            )
        )
        story.append(
            KeepTogether(
                [
                    Paragraph(_escape(section.title), heading),
                    _chart(section, doc, font, tz),
                    table,
                ]
            )
        )

    def footer(canvas: object, _doc: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(font, 7)  # type: ignore[attr-defined]
        canvas.setFillColor(colors.grey)  # type: ignore[attr-defined]
        page = canvas.getPageNumber()  # type: ignore[attr-defined]
        canvas.drawString(18 * mm, 9 * mm, f"{labels['footer']} · {page}")  # type: ignore[attr-defined]
        canvas.restoreState()  # type: ignore[attr-defined]

    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _escape(text: str) -> str:
    """Paragraph text is ReportLab's mini-markup: a device named ``<b>`` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
