"""PDF rendering: Chinese set in an embedded CJK font as real text, charts drawn, markup in
names kept as text, and a clear error where no CJK font exists."""

from __future__ import annotations

import pytest

from helan.reports import fonts
from helan.reports.pdf import ReportDocument, Section, Series, render_pdf
from tests.reports.pdftext import pdf_text

T0 = 1_764_720_000_000  # 2025-12-03 00:00 UTC


def _doc(**kw: object) -> ReportDocument:
    points = [(T0 + i * 600_000, 20.0 + i % 7) for i in range(144)]
    base: dict[str, object] = {
        "title": "一号泵房日报 Pump room daily",
        "tenant": "acme",
        "language": "zh-CN",
        "timezone": "Asia/Shanghai",
        "start_ms": T0,
        "end_ms": T0 + 86_400_000,
        "generated_ms": T0 + 86_400_000,
        "sections": [
            Section("进水泵 <b>&1", [Series("出口温度", "°C", points, 20.0, 23.0, 26.0, 21.5)]),
            Section("Empty", [Series("flow", "m³/h", [])]),
        ],
    }
    return ReportDocument(**(base | kw))  # type: ignore[arg-type]


def test_chinese_is_embedded_text() -> None:
    pdf = render_pdf(_doc())
    assert pdf.startswith(b"%PDF-")
    text, embedded = pdf_text(pdf)
    assert any("WenQuanYi" in name for name in embedded), embedded
    for expected in (
        "一号泵房日报 Pump room daily",
        "时间范围",
        "2025-12-03 08:00",  # the range in the report's zone (UTC+8)
        "进水泵 <b>&1",  # markup in a name prints as itself
        "出口温度",
        "最大值",
        "26 °C",
        "此时间范围内无数据",
        "赫兰工业互联网平台",
    ):
        assert expected in text, (expected, text[:500])
    assert b"/Subtype /TrueType" in pdf  # the CJK font is a TrueType subset


def test_english_labels() -> None:
    text, _ = pdf_text(render_pdf(_doc(language="en", title="Pump room daily")))
    assert "Average" in text
    assert "No data in this range" in text
    assert "最大值" not in text


def test_missing_font_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(fonts.FontMissing, match="fonts-wqy-microhei") as err:
        fonts.find_cjk_font(["/nonexistent/a.ttc", "/nonexistent/b.ttf"])
    assert "/nonexistent/a.ttc" in err.value.message
    assert err.value.status == 503
    assert fonts.find_cjk_font().suffix in (".ttc", ".ttf")
