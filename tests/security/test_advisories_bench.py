"""``helan bench security`` at a small size: its variants are valid CSAF with ids of their own,
and the figures line is the last line of its output."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from helan.bench.security import CSAF_DIR, variants
from helan.cli import _register, app
from helan.security.advisories import csaf


def test_variants_are_distinct_valid_documents() -> None:
    docs = [csaf.load(d) for d in variants(CSAF_DIR, 3)]
    assert len(docs) == 60
    assert len({d.tracking_id for d in docs}) == 60
    names = {leaf.product for d in docs for leaf in d.leaves.values()}
    assert any(n and n.endswith("-B2") for n in names)


def test_bench_prints_its_figures_last() -> None:
    argv = ["bench", "security", "--documents", "40", "--assets", "500"]
    _register(argv)  # as main() does: only the named command is loaded
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.output.strip().splitlines()[-1])
    assert (figures["documents"], figures["assets"]) == (40, 500)
    assert figures["match_s"] > 0
    assert figures["affected"] > 0
    assert figures["matches"] >= figures["affected"] + figures["needs_review"]
