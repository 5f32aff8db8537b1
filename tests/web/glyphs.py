"""Missing-glyph boxes ("tofu") on a rendered page, for the font tests and the every-page test.

A character the fonts cannot draw is drawn as the same box (or as nothing), whatever the
character: each distinct Chinese character on the page is drawn alone on a canvas in the font
of the element that shows it, and one that draws no ink, the same pixels as a code point no font
has (U+10FFFD, private use), or the same pixels as another character, is a box. Chromium's
DevTools protocol also says which installed font drew an element's text.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page

CSS_FONT_VAR = re.compile(r"--font:\s*([^;]+);")
_DRAW = """(selector) => {
  const root = document.querySelector(selector);
  if (!root) return null;
  const cjk = /[\\u3000-\\u303f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uff00-\\uffef]/u;
  const where = new Map();  // character -> the font-family of an element showing it
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || !parent.checkVisibility()) continue;
    for (const ch of n.data) {
      if (!cjk.test(ch) || ch === "\\u3000" || where.has(ch)) continue;
      where.set(ch, getComputedStyle(parent).fontFamily);
    }
  }
  const canvas = document.createElement("canvas");
  canvas.width = 48;
  canvas.height = 48;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch, family) => {
    g.clearRect(0, 0, 48, 48);
    g.font = `36px ${family}`;
    g.fillStyle = "#000";
    g.fillText(ch, 4, 38);
    const alpha = g.getImageData(0, 0, 48, 48).data.filter((_, i) => i % 4 === 3);
    return { ink: alpha.some((a) => a > 0), key: alpha.join(",") };
  };
  const out = [];
  const tofu = new Map();
  for (const [ch, family] of where) {
    if (!tofu.has(family)) tofu.set(family, draw("\\u{10FFFD}", family).key);
    out.push({ ch, family, ...draw(ch, family), tofu: tofu.get(family) });
  }
  return out.map((x) => ({ ch: x.ch, family: x.family, ink: x.ink, tofu: x.key === x.tofu,
    twin: out.some((y) => y !== x && y.key === x.key) }));
}"""


def chinese_glyphs(page: Page, selector: str = "body") -> tuple[int, list[str]]:
    """(distinct Chinese characters visible under ``selector``, those drawn as boxes)."""
    found = page.evaluate(_DRAW, selector)
    assert found is not None, f"nothing matches {selector}"
    boxes = [f["ch"] for f in found if not f["ink"] or f["tofu"] or f["twin"]]
    return len(found), boxes


def platform_fonts(page: Page, selector: str) -> set[str]:
    """The installed fonts that drew the text directly inside the first ``selector`` element."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"nothing matches {selector}"
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {f["familyName"] for f in fonts}
    finally:
        cdp.detach()


def stack_families(css: str) -> list[str]:
    """The family names of app.css's ``--font`` stack, in order (quotes removed)."""
    match = CSS_FONT_VAR.search(css)
    assert match, "app.css has no --font"
    return [f.strip().strip('"') for f in match.group(1).split(",")]
