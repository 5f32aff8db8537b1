"""Chinese registration codes carried by tenants.

The unified social credit code (统一社会信用代码, GB 32100-2015) is 18 characters from a
31-symbol alphabet (digits and capitals without I, O, Z, S, V): registration authority,
organisation category, the 6-digit administrative division (GB/T 2260), the 9-character
organisation code, and a check character over the first 17 with weights 3^i mod 31.
"""

from __future__ import annotations

import re

from helan.core.errors import ValidationFailed

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_SHAPE = re.compile(r"^[1-9A-GY][1-9]\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")
# First two digits of GB/T 2260 codes: provinces, municipalities, autonomous regions, HK/MO/TW.
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


def uscc_check_char(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """The code upper-cased, or ValidationFailed saying what is wrong with it."""
    code = code.strip().upper()
    if len(code) != 18:
        raise ValidationFailed(f"unified social credit code must be 18 characters, got {len(code)}")
    if not _USCC_SHAPE.fullmatch(code):
        raise ValidationFailed(
            f"unified social credit code {code!r} has characters outside GB 32100-2015 "
            "(digits and capitals except I, O, Z, S, V; positions 3-8 a division code)"
        )
    _region_shape(code[2:8])
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValidationFailed(
            f"unified social credit code {code!r} fails its check character: "
            f"expected {expected!r}, got {code[17]!r}"
        )
    return code


def _region_shape(code: str) -> str:
    """Six digits under a real province prefix: all a credit code's division is checked
    for, as an enterprise keeps the code it was registered under after a division changes."""
    if not re.fullmatch(r"\d{6}", code) or int(code[:2]) not in PROVINCES:
        raise ValidationFailed(f"invalid administrative division code {code!r}")
    return code


def validate_region(code: str) -> str:
    """An administrative division code (GB/T 2260) of the shipped list
    (:mod:`helan.region.divisions`); an unknown one is refused by name."""
    from helan.region.divisions import check_division  # the list loads on first use

    return check_division(_region_shape(code))
