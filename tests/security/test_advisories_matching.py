"""CSAF checking and matching: the 20 CISA files and hand-made advisories of other shapes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from helan.core.errors import PayloadTooLarge, ValidationFailed
from helan.security.advisories.csaf import load, read
from helan.security.advisories.kev import load_kev
from helan.security.advisories.matching import Matcher
from helan.security.assets.inventory import build_asset

CSAF = Path(__file__).parents[2] / "data" / "csaf"


def doc(branches: list[Any], status: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Test advisory",
            "publisher": {
                "category": "vendor",
                "name": "ACME PSIRT",
                "namespace": "https://acme.example",
            },
            "tracking": {
                "id": "ACME-2026-001",
                "version": "2",
                "status": "final",
                "initial_release_date": "2026-01-01T00:00:00Z",
                "current_release_date": "2026-02-01T00:00:00Z",
                "revision_history": [
                    {"number": "2", "date": "2026-02-01T00:00:00Z", "summary": "x"}
                ],
            },
            "notes": [{"category": "summary", "text": "<script>alert(1)</script>"}],
        },
        "product_tree": {"branches": branches, **extra},
        "vulnerabilities": [
            {
                "cve": "CVE-2026-0001",
                "product_status": status,
                "scores": [
                    {
                        "cvss_v3": {"baseScore": 9.8, "baseSeverity": "CRITICAL", "version": "3.1"},
                        "products": [p for ps in status.values() for p in ps],
                    }
                ],
                "remediations": [
                    {
                        "category": "vendor_fix",
                        "details": "Update to 3.0",
                        "product_ids": [p for ps in status.values() for p in ps],
                    }
                ],
            }
        ],
    }


def leaf(
    vendor: str,
    product: str,
    version: str,
    pid: str,
    cat: str = "product_version_range",
    helper: dict[str, Any] | None = None,
) -> dict[str, Any]:
    p: dict[str, Any] = {"name": f"{product} {version}", "product_id": pid}
    if helper:
        p["product_identification_helper"] = helper
    return {
        "category": "vendor",
        "name": vendor,
        "branches": [
            {
                "category": "product_name",
                "name": product,
                "branches": [{"category": cat, "name": version, "product": p}],
            }
        ],
    }


def asset(vendor: str | None, model: str | None, firmware: str | None, **attrs: Any) -> Any:
    return build_asset(
        tenant="t",
        device="d",
        name="n",
        vendor=vendor,
        model=model,
        firmware=firmware,
        attributes=attrs,
    )


def test_the_cisa_files_load_and_match() -> None:
    advisories = [load(f.read_bytes()) for f in sorted(CSAF.glob("*.json"))]
    assert len(advisories) == 20
    m = Matcher(advisories, kev=["CVE-2023-44373"])
    got = m.match(asset("Siemens AG", "SCALANCE WAM763-1", "V2.3.0"))
    assert [(x.tracking_id, x.status, x.cvss, x.kev) for x in got] == [
        ("ICSA-24-256-13", "affected", 9.1, True)
    ]
    assert got[0].remediations[0]["category"] == "vendor_fix"
    assert m.match(asset("西门子", "SCALANCE WAM763-1", "V2.4.1"))[0].status == "not_affected"
    rockwell = {
        x.tracking_id: x.status for x in m.match(asset("Rockwell", "ControlLogix 5580", "V34.011"))
    }
    assert rockwell == {"ICSA-24-284-20": "affected", "ICSA-24-256-18": "not_affected"}
    assert m.match(asset("Yokogawa", "CENTUM VP", "R5.03.00"))[0].status == "affected"
    # "Modicon M340 CPU (part numbers BMXP34*)": the part number decides, the bare family is review
    assert m.match(asset("Schneider Electric", "BMXP342020", "3.5"))[0].status == "affected"
    assert m.match(asset("Schneider", "Modicon M340", None))[0].status == "needs_review"
    assert m.match(asset("Honeywell", "Safety Manager", "R161"))[0].status == "needs_review"
    assert m.match(asset("Nobody", "Nothing", "1")) == []


def test_other_shapes_cpe_purl_full_product_names_and_fixed() -> None:
    d = doc(
        [
            leaf("ACME", "Widget PLC", "vers:npm/>=1.0.0|<3.0.0", "P1"),
            leaf("ACME", "Widget PLC", "3.0.0", "P2", cat="product_version"),
        ],
        {"known_affected": ["P1", "P3"], "fixed": ["P2"]},
        full_product_names=[
            {
                "name": "Gadget 7",
                "product_id": "P3",
                "product_identification_helper": {"cpe": "cpe:2.3:o:acme:gadget:7.1:*:*:*:*:*:*:*"},
            }
        ],
    )
    adv = read(d)
    m = Matcher([adv])
    assert m.match(asset("ACME Inc.", "Widget PLC", "2.0.0"))[0].status == "affected"
    assert m.match(asset("ACME", "Widget PLC", "3.0.0"))[0].status == "fixed"
    assert m.match(asset("acme", "gadget", "7.1"))[0].status == "affected"
    assert m.match(asset("acme", "gadget", "7.2"))[0].status == "not_affected"


def test_unreadable_range_outranks_fixed() -> None:
    d = doc(
        [
            leaf("ACME", "W", "vers:semver/<3.0.0", "P1"),
            leaf("ACME", "W", "3.0.0", "P2", cat="product_version"),
        ],
        {"known_affected": ["P1"], "fixed": ["P2"]},
    )
    got = Matcher([read(d)]).match(asset("ACME", "W", "3.0.0"))
    assert got[0].status == "needs_review"
    assert any("not understood" in r for r in got[0].reasons)


def test_unreadable_vendor_goes_to_review() -> None:
    m = Matcher([read(doc([leaf("ACME", "Widget PLC", "<3", "P1")], {"known_affected": ["P1"]}))])
    got = m.match(asset("AC\ufffdME", "Widget PLC", "1"))
    assert [x.status for x in got] == ["needs_review"]


def test_notes_are_kept_as_text() -> None:
    adv = read(doc([leaf("ACME", "W", "<3", "P1")], {"known_affected": ["P1"]}))
    assert adv.notes[0]["text"] == "<script>alert(1)</script>"


def test_dangling_product_ids_are_refused() -> None:
    d = doc([leaf("ACME", "W", "<3", "P1")], {"known_affected": ["P1", "P9"]})
    with pytest.raises(ValidationFailed) as e:
        read(d)
    assert e.value.details is not None
    assert any(x["type"] == "dangling_product_id" and x["loc"][-1] == 1 for x in e.value.details)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("document", "csaf_version"), "1.2"),
        (("document", "tracking", "id"), ""),
        (("document", "tracking", "status"), "bogus"),
        (("product_tree", "branches"), "nope"),
    ],
)
def test_structure_is_checked(path: tuple[str, ...], value: Any) -> None:
    d = copy.deepcopy(doc([leaf("ACME", "W", "<3", "P1")], {"known_affected": ["P1"]}))
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(ValidationFailed):
        read(d)


def test_sizes_are_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        load(b"{" * (50 * 1024 * 1024))
    with pytest.raises(ValidationFailed):
        load(b"not json")
    with pytest.raises(ValidationFailed):
        load(b"[]")


def test_kev_catalog() -> None:
    cat = load_kev(
        orjson.dumps(
            {
                "catalogVersion": "2026.01.01",
                "vulnerabilities": [
                    {
                        "cveID": "CVE-2021-44228",
                        "vendorProject": "Apache",
                        "knownRansomwareCampaignUse": "Known",
                    }
                ],
            }
        )
    )
    assert cat.entries[0].cve == "CVE-2021-44228"
    assert cat.entries[0].ransomware
    with pytest.raises(ValidationFailed):
        load_kev(orjson.dumps({"vulnerabilities": [{"cveID": "nope"}]}))
