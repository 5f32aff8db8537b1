"""A product label: a PDF page with the product identifier and a QR code of its public trace
URL, which a consumer scans to open the trace without signing in. QR by segno (as SVG path
data drawn into the PDF, so the code stays vector and sharp), PDF by ReportLab."""

from __future__ import annotations

import io

import segno
from reportlab.lib.units import mm  # type: ignore[import-untyped]  # untyped
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]  # untyped

WIDTH, HEIGHT = 60 * mm, 40 * mm


def label_pdf(identifier: str, url: str, *, title: str = "") -> bytes:
    """One 60 × 40 mm label: the QR code of ``url`` on the left, the identifier beside it."""
    qr = segno.make(url, error="m")
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(WIDTH, HEIGHT), pageCompression=0)  # a few kB
    c.setTitle(title or identifier)
    c.setSubject(url)  # what the QR code says, readable by tools and tests
    size = HEIGHT - 6 * mm
    modules = qr.symbol_size(scale=1, border=2)[0]
    cell = size / modules
    x0, y0 = 3 * mm, 3 * mm
    c.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(qr.matrix_iter(scale=1, border=2)):
        for col, dark in enumerate(row):
            if dark:
                c.rect(x0 + col * cell, y0 + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    c.setFont("Helvetica", 6)
    text_x = x0 + size + 2 * mm
    lines = [title] if title else []
    lines += [identifier[i : i + 22] for i in range(0, len(identifier), 22)]
    for n, line in enumerate(lines[:6]):
        c.drawString(text_x, HEIGHT - 8 * mm - n * 3 * mm, line)
    c.showPage()
    c.save()
    return buf.getvalue()
