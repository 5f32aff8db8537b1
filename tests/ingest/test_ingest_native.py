"""The MQTT/device JSON contract, one bad input at a time."""

from __future__ import annotations

import orjson
import pytest
from ingest_model import TENANT, now_ms

from helan.config import Settings
from helan.ingest.native import decode_native
from helan.ingest.static_directory import StaticDirectory
from helan.protocol.native import MAX_POINTS_PER_MESSAGE


def decode(directory: StaticDirectory, settings: Settings, payload: object, device: str = "pump-1"):
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    ref = directory.lookup(TENANT, device)
    return decode_native(
        raw, tenant=TENANT, device=device, ref=ref, now_ms=now_ms(), settings=settings
    )


def test_good_message_all_types(directory, settings) -> None:
    ts = now_ms()
    d = decode(
        directory,
        settings,
        {"ts": ts, "values": {"pressure": 1.5, "count": 3, "running": True, "state": "ok"}},
    )
    assert d.rejected == 0
    assert d.fault is None
    assert d.points.metric == ["pressure", "count", "running", "state"]
    assert d.points.value == [1.5, 3.0, 1.0, None]
    assert d.points.text == [None, None, None, "ok"]
    assert d.points.ts == [ts] * 4


def test_list_of_samples_rfc3339_and_missing_ts(directory, settings) -> None:
    d = decode(
        directory,
        settings,
        [
            {"ts": "2025-06-01T08:00:00.250+08:00", "values": {"pressure": 1}},
            {"values": {"pressure": 2}},
        ],
    )
    assert d.rejected == 0
    assert d.points.ts[0] == 1748736000250
    assert abs(d.points.ts[1] - now_ms()) < 5_000  # no ts: the time of arrival


def test_valid_points_kept_when_others_rejected(directory, settings) -> None:
    d = decode(
        directory,
        settings,
        {"values": {"pressure": 5.0, "nope": 1, "count": 1.5, "running": 1, "state": 7}},
    )
    assert d.points.metric == ["pressure"]
    assert d.rejected == 4
    by_metric = {e.metric: e.reason for e in d.errors}
    assert by_metric == {
        "nope": "unknown_metric",
        "count": "wrong_type",
        "running": "wrong_type",
        "state": "wrong_type",
    }
    assert [e.index for e in d.errors] == [1, 2, 3, 4]
    assert d.reasons == {"unknown_metric": 1, "wrong_type": 3}


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"pressure": "12.5"}, "wrong_type"),  # string for a float metric
        ({"pressure": True}, "wrong_type"),  # bool is not a number here
        ({"pressure": None}, "bad_value"),
        ({"pressure": [1]}, "bad_value"),
        ({"pressure": {"v": 1}}, "bad_value"),
        ({"pressure": 100.01}, "out_of_range"),
        ({"pressure": -0.1}, "out_of_range"),
        ({"count": 2.5}, "wrong_type"),
        ({"state": "x" * 5000}, "out_of_range"),
        ({"bad\x00name": 1}, "unknown_metric"),
    ],
)
def test_bad_values(directory, settings, values, reason) -> None:
    d = decode(directory, settings, {"values": values})
    assert not d.points.ts
    assert [e.reason for e in d.errors] == [reason]
    assert d.errors[0].message


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (0, "ts_past"),  # 1970
        ("1970-01-01T00:00:00Z", "ts_past"),
        (4102444800000, "ts_future"),  # 2100
        ("2100-01-01T00:00:00Z", "ts_future"),
        (1_700_000_000, "ts_past"),  # seconds where ms were meant
        ("2025-06-01T08:00:00", "bad_ts"),  # no offset
        ("yesterday", "bad_ts"),
        (True, "bad_ts"),
        ([1], "bad_ts"),
    ],
)
def test_bad_timestamps(directory, settings, ts, reason) -> None:
    d = decode(directory, settings, {"ts": ts, "values": {"pressure": 1.0}})
    assert [e.reason for e in d.errors] == [reason]


def test_future_skew_boundary(directory, settings) -> None:
    skew = settings.max_future_skew_s * 1000
    ok = decode(directory, settings, {"ts": now_ms() + skew - 2000, "values": {"pressure": 1}})
    late = decode(directory, settings, {"ts": now_ms() + skew + 2000, "values": {"pressure": 1}})
    assert ok.rejected == 0
    assert late.errors[0].reason == "ts_future"


@pytest.mark.parametrize(
    ("payload", "fault"),
    [
        (b"{not json", "malformed"),
        (b'{"values": {"pressure": NaN}}', "malformed"),  # NaN is not JSON
        (b'{"values": {"pressure": 1e400}}', "malformed"),  # overflows float64
        (b"[" * 10_000 + b"]" * 10_000, "malformed"),  # 10,000-deep nesting
        (b'{"ts": 1}', "malformed"),  # no values
        (b'{"values": [1, 2]}', "malformed"),
        (b"42", "malformed"),
        (b'["x"]', "malformed"),
    ],
)
def test_malformed_messages(directory, settings, payload, fault) -> None:
    d = decode(directory, settings, payload)
    assert d.fault == fault
    assert not d.points.ts
    assert d.reasons == {fault: 1}
    assert d.report()["error"]["code"] == fault  # type: ignore[index]


def test_oversize_payload(directory, settings) -> None:
    small = settings.model_copy(update={"max_payload_bytes": 100})
    d = decode(directory, small, {"values": {"state": "x" * 200}})
    assert d.fault == "too_large"


def test_hundred_thousand_keys(directory, settings) -> None:
    big = settings.model_copy(update={"max_payload_bytes": 10_000_000})
    values = {f"m{i}": 1 for i in range(100_000)}
    d = decode(directory, big, {"values": values})
    assert d.fault == "too_many_points"
    assert str(MAX_POINTS_PER_MESSAGE) in d.fault_message
    assert not d.errors  # one message-level error, not 100k records


def test_unknown_and_disabled_device(directory, settings) -> None:
    unknown = decode(directory, settings, {"values": {"pressure": 1}}, device="ghost")
    disabled = decode(directory, settings, {"values": {"pressure": 1}}, device="old")
    assert [e.reason for e in unknown.errors] == ["unknown_device"]
    assert [e.reason for e in disabled.errors] == ["device_disabled"]


def test_error_list_is_capped(directory, settings) -> None:
    d = decode(directory, settings, {"values": {f"m{i}": 1 for i in range(500)}})
    assert d.rejected == 500
    assert len(d.errors) == 100
