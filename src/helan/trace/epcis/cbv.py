"""CBV 2.0 vocabularies the capture checks. A value is accepted bare (``shipping``), as the
CBV 1.x URN (``urn:epcglobal:cbv:bizstep:shipping``) or as the CBV 2.0 web URI
(``https://ref.gs1.org/cbv/BizStep-shipping``); any other absolute URI is a user vocabulary
and passes. A bare word outside the list, or a standard URN/URI naming an unknown term, is an
error: it is the usual typo, and a query on the right term would silently miss the event."""

from __future__ import annotations

from dataclasses import dataclass

BIZ_STEPS = frozenset(
    [
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    ]
)
DISPOSITIONS = frozenset(
    [
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    ]
)
SOURCE_DEST_TYPES = frozenset({"owning_party", "possessing_party", "location"})
BIZ_TRANSACTION_TYPES = frozenset(
    [
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ]
)
ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data"})


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One CBV vocabulary: its terms, its 1.x URN prefix and its 2.0 web URI prefix."""

    name: str
    terms: frozenset[str]
    urn: str
    web: str

    def term(self, value: str) -> str | None:
        """The bare term of ``value``; None for a user vocabulary URI. ValueError when
        ``value`` names this vocabulary but no term of it."""
        for prefix in (self.urn, self.web):
            if value.startswith(prefix):
                bare = value[len(prefix) :]
                if bare not in self.terms:
                    raise ValueError(f"unknown CBV {self.name} {bare!r}")
                return bare
        if ":" in value:  # a URI of the user's own vocabulary
            return None
        if value not in self.terms:
            raise ValueError(f"unknown CBV {self.name} {value!r}")
        return value

    def canonical(self, value: str) -> str:
        """The form stored and matched: the bare term, or the user URI as given."""
        bare = self.term(value)
        return value if bare is None else bare


BIZ_STEP = Vocabulary(
    "bizStep", BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"
)
DISPOSITION = Vocabulary(
    "disposition", DISPOSITIONS, "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"
)
SOURCE_DEST = Vocabulary(
    "source/destination type",
    SOURCE_DEST_TYPES,
    "urn:epcglobal:cbv:sdt:",
    "https://ref.gs1.org/cbv/SDT-",
)
BIZ_TRANSACTION = Vocabulary(
    "bizTransaction type",
    BIZ_TRANSACTION_TYPES,
    "urn:epcglobal:cbv:btt:",
    "https://ref.gs1.org/cbv/BTT-",
)
ERROR_REASON = Vocabulary(
    "error reason", ERROR_REASONS, "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"
)
