"""The regional page as a file: XLSX (one sheet per table, numbers as numbers) and PDF (the
same tables in Chinese and English, set in the CJK font of :mod:`helan.reports.fonts`)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import xlsxwriter  # type: ignore[import-untyped]  # ships no type information
from reportlab.lib import colors  # type: ignore[import-untyped]  # untyped
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from helan.region.indicators import INDICATORS
from helan.reports.fonts import cjk_font
from helan.services.region_indicators import Progress, Row


def _progress(row: Row, indicator: str) -> float | None:
    target = row.targets.get(indicator)
    return None if not target else row.values.get(indicator, 0.0) / target


def _header() -> list[str]:
    out = ["代码 code", "名称 name"]
    for i in INDICATORS:
        out += [f"{i.name_zh} {i.name_en}", "目标 target", "完成 progress"]
    return out


def _cells(row: Row) -> list[object]:
    out: list[object] = [row.code, row.name]
    for i in INDICATORS:
        out += [row.values.get(i.id, 0.0), row.targets.get(i.id), _progress(row, i.id)]
    return out


def _tables(p: Progress) -> list[tuple[str, list[Row]]]:
    return [
        ("总计 total", [p.total]),
        ("下级区划 divisions", p.divisions),
        ("行业 industries", p.industries),
    ]


def _caption(p: Progress) -> str:
    plan = f"{p.plan.name} ({p.plan.id})" if p.plan is not None else "无规划 no plan"
    day = p.day.isoformat() if p.day is not None else "—"
    industry = p.industry or "全部行业 all industries"
    return f"{p.name} {p.region} · {industry} · {p.year} · {plan} · 数据日 day {day}"


def progress_xlsx(p: Progress) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    pct = book.add_format({"num_format": "0.0%"})
    definitions = book.add_worksheet("定义 definitions")
    definitions.write_row(0, 0, ["id", "名称", "name", "定义", "definition"], bold)
    for r, i in enumerate(INDICATORS, 1):
        definitions.write_row(r, 0, [i.id, i.name_zh, i.name_en, i.definition_zh, i.definition_en])
    for title, rows in _tables(p):
        sheet = book.add_worksheet(title[:31])
        sheet.write(0, 0, _caption(p))
        sheet.write_row(1, 0, _header(), bold)
        for r, row in enumerate(rows, 2):
            for c, value in enumerate(_cells(row)):
                if value is None:
                    continue
                is_pct = c >= 2 and (c - 2) % 3 == 2
                sheet.write(r, c, value, pct if is_pct else None)
        sheet.set_column(0, 1, 16)
    book.close()
    return out.getvalue()


def progress_pdf(p: Progress) -> bytes:
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=11)
    heading = ParagraphStyle("h2", fontName=font, fontSize=11, leading=15, spaceBefore=8)
    out = io.BytesIO()
    pdf = SimpleDocTemplate(out, pagesize=landscape(A4), title=f"{p.name} {p.region}")
    story: list[object] = [
        Paragraph(escape(f"区域指标 Regional indicators · {p.name}"), title),
        Paragraph(escape(_caption(p)), body),
        Spacer(1, 3 * mm),
    ]
    header = ["代码", "名称"] + [i.name_zh for i in INDICATORS]
    for name, rows in _tables(p):
        data: list[list[str]] = [header]
        for row in rows:
            cells = [row.code, row.name]
            for i in INDICATORS:
                v, t = row.values.get(i.id, 0.0), row.targets.get(i.id)
                shown = f"{v:,.0f}"
                if t:
                    shown += f" / {t:,.0f} ({v / t:.0%})"
                cells.append(shown)
            data.append(cells)
        table = Table(data, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("FONTSIZE", (0, 0), (-1, -1), 7),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6")),
                    ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#e5e7eb")),
                ]
            )
        )
        story += [Paragraph(escape(name), heading), table]
    pdf.build(story)
    return out.getvalue()
