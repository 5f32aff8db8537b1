"""Handle syntax: what is accepted, what is refused, and with which protocol code."""

from __future__ import annotations

import pytest

from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.model import Handle


def test_parse_keeps_spelling_and_folds_ascii_case_in_the_key() -> None:
    h = Handle.parse("88.118.100/SN-0001")
    assert (h.prefix, h.suffix) == ("88.118.100", "SN-0001")
    assert h.key == Handle.parse("88.118.100/sn-0001").key
    assert Handle.parse("88.1/产品-1").key != Handle.parse("88.1/产品-2").key
    assert h.prefix_chain() == ["88.118.100", "88.118", "88"]
    assert Handle.parse("0.NA/88.118").is_prefix_record
    assert Handle.parse("0.NA/88.118").prefix_chain() == ["88.118", "88"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("88.1/../etc/passwd", "path segment"),
        ("88.1/a/./b", "path segment"),
        ("88.1/%2e%2e%2fx", "percent-encoded sequence '%2e'"),
        ("88.1/a%00b", "percent-encoded sequence '%00'"),
        ("88.1/a\x00b", "U+0000"),
        ("88\uff0e118/x", "U+FF0E"),
        ("88.1/x\u3002y", "U+3002"),
        ("88.1/a\\b", "U+005C"),
        (b"88.1/\xff\xfe", "not valid UTF-8"),
        ("88.1/" + "x" * 10_000, "the limit is 511"),
        ("88.1/" + "x" * 507, "the limit is 511"),
        ("88.1", "no '/'"),
        ("88..1/x", "prefix"),
        ("/x", "prefix"),
        ("88.1/", "empty suffix"),
    ],
)
def test_bad_handles_are_refused_with_invalid_handle(raw: str | bytes, reason: str) -> None:
    with pytest.raises(HandleError) as err:
        Handle.parse(raw)
    assert err.value.rc == ResponseCode.INVALID_HANDLE
    assert err.value.status == 400
    assert reason in err.value.message
