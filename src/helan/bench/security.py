"""``helan bench security``: the security centre's figures.

``match_s``: matching 2,000 CSAF documents against 100,000 assets. The documents are variants
of CISA's 20 in data/csaf (each copied ``variants`` times with a new tracking id and, past the
first copy, its product names suffixed with ``-B`` and the copy's number, so they name products
of their own and not longer names of the originals); the assets are drawn from those products
(any copy, random firmware from the versions the advisories use) and 30 % from vendors and
products no advisory names. Parsing (``load_s``),
building the index (``index_s``) and matching every asset (``match_s``) are timed apart, in
process, as the store's matcher does them (reading the inventory from the database is not in
it). ``--captures``: a folder of labelled captures for the traffic detector's figures
(``recall``, ``false_alarm_rate``, ``packets_per_s`` per capture, from
:mod:`helan.security.traffic.bench`).
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from helan.observe.report import report
from helan.security.advisories import csaf
from helan.security.advisories.matching import Matcher
from helan.security.assets.inventory import InventoryAsset, build_asset

CSAF_DIR = Path(__file__).parents[3] / "data" / "csaf"
FIRMWARE = ("V1.0", "V2.3.0", "V2.4.0", "R3.09.10", "12.2.5", "30", "FW24", "V33.011", "2.07.2")
UNKNOWN = ("Acme Automation", "Contoso Controls", "Fabrikam")


def _rename(branches: list[dict[str, Any]], suffix: str) -> None:
    for b in branches:
        if b.get("category") == "product_name":
            b["name"] = f"{b['name']}{suffix}"
        _rename(b.get("branches") or [], suffix)


def variants(folder: Path, copies: int) -> list[bytes]:
    """``copies`` documents per CSAF file of ``folder``, as bytes."""
    out: list[bytes] = []
    for path in sorted(folder.glob("*.json")):
        doc = orjson.loads(path.read_bytes())
        for i in range(copies):
            v = copy.deepcopy(doc)
            v["document"]["tracking"]["id"] = f"{doc['document']['tracking']['id']}-B{i:04d}"
            if i:
                _rename(v["product_tree"].get("branches") or [], f"-B{i}")
            out.append(orjson.dumps(v))
    return out


def assets(advisories: list[csaf.Advisory], n: int, seed: int = 13) -> list[InventoryAsset]:
    rng = random.Random(seed)
    named = [
        (leaf.vendor, leaf.product)
        for a in advisories
        for leaf in a.leaves.values()
        if leaf.vendor and leaf.product
    ]
    out: list[InventoryAsset] = []
    vendor: str
    model: str
    for i in range(n):
        if rng.random() < 0.3:
            vendor, model = rng.choice(UNKNOWN), f"Model {rng.randrange(1000)}"
        else:
            vendor, model = rng.choice(named)
        out.append(
            build_asset(
                tenant=f"t{i % 50}",
                device=f"d{i}",
                name=f"device {i}",
                vendor=vendor,
                model=model,
                firmware=rng.choice(FIRMWARE),
                attributes=None,
            )
        )
    return out


def run(
    documents: Annotated[int, typer.Option(help="CSAF documents (a multiple of the 20).")] = 2000,
    asset_count: Annotated[int, typer.Option("--assets", help="Assets matched.")] = 100_000,
    folder: Annotated[Path, typer.Option(help="The CSAF files varied.")] = CSAF_DIR,
    captures: Annotated[
        Path | None, typer.Option(help="Labelled captures for the traffic figures.")
    ] = None,
) -> None:
    """Advisory matching (and, with --captures, the traffic detector's figures)."""
    originals = len(list(folder.glob("*.json")))
    if originals == 0:
        raise typer.BadParameter(f"no CSAF files in {folder}")
    docs = variants(folder, max(1, documents // originals))
    t0 = time.perf_counter()
    advisories = [csaf.load(d) for d in docs]
    t1 = time.perf_counter()
    matcher = Matcher(advisories)
    t2 = time.perf_counter()
    inventory = assets(advisories, asset_count)
    t3 = time.perf_counter()
    found = matcher.match_all(inventory)
    t4 = time.perf_counter()
    statuses = Counter(m.status for m in found)
    figures: dict[str, object] = {
        "documents": len(advisories),
        "assets": len(inventory),
        "load_s": round(t1 - t0, 3),
        "index_s": round(t2 - t1, 3),
        "match_s": round(t4 - t3, 3),
        "assets_per_s": round(len(inventory) / (t4 - t3)),
        "matches": len(found),
        "affected": statuses["affected"],
        "needs_review": statuses["needs_review"],
        "fixed": statuses["fixed"],
        "not_affected": statuses["not_affected"],
    }
    if captures is not None:
        from helan.security.traffic.bench import figures as traffic

        for name, got in traffic(captures).items():
            for key in ("recall", "false_alarm_rate", "packets_per_s"):
                if key in got:
                    figures[f"{name}.{key}"] = got[key]
    report(
        "helan bench security",
        figures,
        {
            "load_s": "check and read every document",
            "index_s": "vendor and product-name index",
            "match_s": "every asset against the index",
        },
    )
