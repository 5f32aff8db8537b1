"""Text out of the PDFs ReportLab writes, without a PDF library in the environment: objects,
their streams (ASCII85 and Flate), each font's ToUnicode map, and the strings shown with
``Tj`` in the font last chosen with ``Tf``. Enough to prove a report's Chinese is real text
in an embedded font, not boxes or an image."""

from __future__ import annotations

import base64
import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)


def _stream(obj: bytes) -> bytes:
    match = _STREAM.search(obj)
    if match is None:
        return b""
    data = match.group(1)
    length = re.search(rb"/Length (\d+)", obj)
    if length is not None:
        data = data[: int(length.group(1))]
    if b"/ASCII85Decode" in obj:
        data = base64.a85decode(data.strip().removesuffix(b"~>"))
    if b"/FlateDecode" in obj:
        data = zlib.decompress(data)
    return data


def _cmap(data: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            base = int(dst, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(base + i)
    return out


def _literal(s: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == 0x5C:  # backslash
            nxt = s[i + 1 : i + 4]
            octal = re.match(rb"[0-7]{1,3}", nxt)
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            esc = {b"n": 10, b"r": 13, b"t": 9, b"b": 8, b"f": 12}.get(s[i + 1 : i + 2])
            out.append(esc if esc is not None else s[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def pdf_text(pdf: bytes) -> tuple[str, set[str]]:
    """(all shown text, base font names embedded with a FontFile2)."""
    objects = {int(n): body for n, body in _OBJ.findall(pdf)}
    fonts: dict[bytes, dict[int, str] | None] = {}
    embedded = set()
    for body in objects.values():
        name = re.search(rb"/Name /(\S+)", body)
        if b"/Type /Font" in body and name:
            ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
            fonts[name.group(1)] = _cmap(_stream(objects[int(ref.group(1))])) if ref else None
        if b"/FontFile2" in body:
            found = re.search(rb"/FontName /(\S+)", body)
            if found:
                embedded.add(found.group(1).decode())
    text: list[str] = []
    for body in objects.values():
        if b"/Filter" not in body or b"/Length1" in body or b"/ToUnicode" in body:
            continue
        try:
            content = _stream(body)
        except (ValueError, zlib.error):
            continue
        current: dict[int, str] | None = None
        for font, string in re.findall(rb"/(\S+) [\d.]+ Tf|\(((?:[^()\\]|\\.)*)\) Tj", content):
            if font:
                current = fonts.get(font)
            elif current is not None:
                text.append("".join(current.get(b, "?") for b in _literal(string)))
            else:
                text.append(_literal(string).decode("latin-1"))
    return "".join(text), embedded
