"""Vendor names, CPE/PURL and the asset built from the directory and gateway reports."""

from __future__ import annotations

import pytest

from helan.security.assets.cpe import cpe23, cpe_vendor_product, purl
from helan.security.assets.inventory import build_asset
from helan.security.assets.vendors import normalise_vendor


@pytest.mark.parametrize(
    "name",
    ["Siemens AG", "SIEMENS", "西门子", " siemens ", "西门子".encode().decode("latin-1")],
)
def test_aliases_and_mojibake_normalise(name: str) -> None:
    v = normalise_vendor(name)
    assert (v.key, v.known, v.garbled) == ("siemens", True, False)


def test_legal_suffixes_and_unknown_vendors() -> None:
    assert normalise_vendor("PHOENIX CONTACT GmbH & Co. KG").key == "phoenix_contact"
    assert normalise_vendor("三菱電機株式会社").key == "mitsubishi_electric"
    v = normalise_vendor("Acme Widgets Inc.")
    assert (v.key, v.known) == ("acme_widgets", False)


@pytest.mark.parametrize(
    "name", ["Sch\ufffdneider", "西门子".encode().decode("gbk", "replace"), "Sie\x00mens"]
)
def test_garbled_vendor_names_are_flagged(name: str) -> None:
    v = normalise_vendor(name)
    assert v.garbled
    assert v.key is None


def test_cpe_and_purl() -> None:
    c = cpe23("o", "siemens", "SCALANCE W700 (ME)", "V2.4")
    assert c == r"cpe:2.3:o:siemens:scalance_w700_\(me\):v2.4:*:*:*:*:*:*:*:*"
    assert cpe_vendor_product(c) == ("siemens", "scalance_w700_(me)")
    assert purl("wago", "PFC200", "FW26") == "pkg:generic/wago/pfc200@FW26"
    with pytest.raises(ValueError, match="CPE part"):
        cpe23("x", "a", "b", None)


def test_gateway_report_wins_over_the_directory() -> None:
    a = build_asset(
        tenant="t",
        device="plc-1",
        name="PLC",
        vendor="Siemens",
        model="S7-1500",
        firmware="V2.0",
        attributes={
            "identification": {
                "source": "modbus",
                "vendor_name": "WAGO",
                "product_code": "750-8212",
                "model_name": "PFC200",
                "revision": "FW20",
            }
        },
    )
    assert (a.vendor_key, a.model, a.firmware, a.order_number, a.source) == (
        "wago",
        "PFC200",
        "FW20",
        "750-8212",
        "modbus",
    )
    assert a.cpe is not None
    assert a.cpe.startswith("cpe:2.3:o:wago:pfc200_firmware:fw20:")


def test_malformed_attributes_are_ignored() -> None:
    a = build_asset(
        tenant="t",
        device="d",
        name="n",
        vendor=None,
        model=None,
        firmware=None,
        attributes={"identification": ["not", "a", "mapping"], "vendor": 5, "model": {"x": 1}},
    )
    assert a.vendor == "5"
    assert a.model is None
    assert a.cpe is None
    assert a.source == "directory"
