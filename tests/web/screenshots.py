"""A PNG of every console page in zh-CN and English, for review: `make screenshots` (or
`python -m tests.web.screenshots [OUT]`) serves the seeded test world (tests/web/world.py), signs
in as the tenant admin and writes OUT/{lang}/{route}.png (default var/screenshots). It exits 1,
after writing what it could, when a page shows no heading, logs a JavaScript error, has a request
refused or draws a Chinese character as a box."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from tests.web.browser import chromium, open_tab
from tests.web.glyphs import chinese_glyphs
from tests.web.pages import LANGS, routes, seed_objects, watch
from tests.web.world import PASSWORD, seed, serve


def main(out: Path) -> int:
    problems: list[str] = []
    written = 0
    pages = [r for r in routes() if r.written()]
    with (
        tempfile.TemporaryDirectory() as data,
        serve(Path(data) / "var") as served,
        chromium() as browser,
    ):
        seed(served)
        params = seed_objects(served)
        for lang in LANGS:
            (out / lang).mkdir(parents=True, exist_ok=True)
            tab = open_tab(browser, served.base, locale=lang)
            tab.sign_in("acme-admin", PASSWORD, lang)
            w = watch(tab, params)
            for route in pages:
                where = f"{lang} #/{route.hash(params)}"
                w.open(route, lang)
                try:
                    tab.page.locator(f"main [data-page={route.page}] h2").first.wait_for(
                        timeout=10_000
                    )
                    w.settle()
                except (PlaywrightError, AssertionError) as err:
                    problems.append(f"{where}: {str(err).splitlines()[0]}")
                if lang == "zh-CN":
                    boxes = chinese_glyphs(tab.page)[1]
                    problems += [f"{where}: {''.join(boxes)} drawn as boxes"] if boxes else []
                problems += [f"{where}: {e}" for e in [*tab.js_errors(), *w.failed]]
                tab.page.screenshot(path=out / lang / f"{route.name}.png", full_page=True)
                written += 1
            tab.page.close()
    print(f"{written} screenshots of {len(pages)} pages in {len(LANGS)} languages in {out}/")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/screenshots")))
