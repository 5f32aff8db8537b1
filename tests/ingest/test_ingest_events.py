"""The device events contract (``.../events``), one bad input at a time: each bad event is
rejected with its own reason while the good events of the same message are kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from helan.config import Settings
from helan.core.thing import DeviceRef, event_specs
from helan.ingest.events import decode_events
from helan.ingest.reasons import MAX_EVENTS_PER_MESSAGE

TENANT = "acme"
NOW = 1_790_000_000_000
Y2100 = 4_102_444_800_000
RFC3339 = datetime.fromtimestamp(NOW / 1000 - 1, timezone(timedelta(hours=8))).isoformat()
MODEL = [
    {
        "name": "jam",
        "level": "fault",
        "outputs": [
            {"name": "station", "type": "int", "min": 1, "max": 8},
            {"name": "force", "type": "float"},
            {"name": "note", "type": "string", "required": False},
        ],
    },
    {"name": "door_open", "level": "warning", "outputs": []},
    {"name": "cycle", "outputs": [{"name": "ok", "type": "bool"}]},
]
REF = DeviceRef(tenant=TENANT, device="press-1", device_type="press", events=event_specs(MODEL))
JAM = {"ts": NOW, "event": "jam", "data": {"station": 3, "force": 120.5}}


def decode(settings: Settings, payload: object, ref: DeviceRef | None = REF):
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return decode_events(
        raw, tenant=TENANT, device="press-1", ref=ref, now_ms=NOW, settings=settings
    )


def reasons(decoded) -> list[tuple[int, str]]:
    return [(e.index, e.reason) for e in decoded.errors]


def test_good_events_are_typed_and_take_the_models_level(settings) -> None:
    d = decode(
        settings,
        [
            {"ts": NOW - 5, "event": "jam", "data": {"station": 3.0, "force": 7, "note": "B"}},
            {"event": "door_open"},
            {"ts": RFC3339, "event": "cycle", "data": {"ok": True}},
        ],
    )
    assert d.errors == []
    assert d.fault is None
    assert not d.needs_report
    jam, door, cycle = d.rows
    assert (jam.ts, jam.level, jam.data) == (
        NOW - 5,
        "fault",
        {"station": 3, "force": 7.0, "note": "B"},
    )
    assert type(jam.data["station"]) is int
    assert type(jam.data["force"]) is float
    assert (door.ts, door.level, door.data) == (NOW, "warning", {})  # no ts: arrival time
    assert (cycle.ts, cycle.level, cycle.data) == (NOW - 1000, "info", {"ok": True})


def test_mixed_list_keeps_the_good_events(settings) -> None:
    """NaN cannot be written in JSON, yet Python devices send it: it rejects its own event."""
    payload = json.dumps(
        [
            JAM,
            {"ts": NOW, "event": "explosion", "data": {}},
            {"ts": NOW + 1, "event": "jam", "data": {"station": "three", "force": 1.0}},
            {"ts": NOW + 2, "event": "jam", "data": {"station": 1, "force": float("nan")}},
            {"ts": Y2100, "event": "door_open"},
            {"ts": NOW + 3, "event": "jam", "data": {"station": 9, "force": 1.0}},
            {"ts": NOW + 4, "event": "jam", "data": {"station": 1, "force": 1.0, "speed": 2}},
            {"ts": NOW + 5, "event": "jam", "data": {"force": 1.0}},
            {"ts": NOW + 6, "event": "cycle", "data": {"ok": 1}},
            {"ts": NOW + 7, "event": "door_open", "data": {"x": {"y": [1]}}},
            {"ts": "yesterday", "event": "door_open"},
            {"ts": 1, "event": "door_open"},
            "jam",
            {"event": 5},
            {"event": "door_open", "data": [1]},
            {"ts": NOW + 8, "event": "door_open"},
        ]
    ).encode()
    assert b"NaN" in payload
    d = decode(settings, payload)
    assert [(r.event, r.ts) for r in d.rows] == [("jam", NOW), ("door_open", NOW + 8)]
    assert reasons(d) == [
        (1, "unknown_event"),
        (2, "wrong_type"),
        (3, "not_finite"),
        (4, "ts_future"),
        (5, "out_of_range"),
        (6, "unknown_output"),
        (7, "missing_output"),
        (8, "wrong_type"),
        (9, "unknown_output"),
        (10, "bad_ts"),
        (11, "ts_past"),
        (12, "malformed"),
        (13, "malformed"),
        (14, "malformed"),
    ]
    assert d.rejected == 14
    assert sum(d.reasons.values()) == 14
    assert d.reasons["malformed"] == 3
    report = d.report()
    assert report["topic"] == "events"
    assert report["accepted"] == 2
    assert report["rejected"] == 14
    first = report["errors"][0]
    assert first == {
        "index": 1,
        "device": "press-1",
        "event": "explosion",
        "output": None,
        "reason": "unknown_event",
        "message": "event 'explosion' is not declared by device 'press-1''s thing model 'press'",
    }
    by_index = {e["index"]: e for e in report["errors"]}
    assert by_index[2]["output"] == "station"
    assert "is not of type int" in by_index[2]["message"]
    assert "future" in by_index[4]["message"]
    assert by_index[7]["output"] == "station"
    assert "required output(s) 'station'" in by_index[7]["message"]


def test_values_json_storage_cannot_hold(settings) -> None:
    """Integers beyond int64, lone surrogates and 1e400 are refused per event (the standard
    library reads them), and the report stays valid UTF-8."""
    payload = (
        b'[{"ts": %d, "event": "jam", "data": {"station": 1, "force": 1e400}},'
        b' {"ts": %d, "event": "jam", "data": {"station": 1, "force": 1, "note": "\\ud800"}},'
        b' {"ts": %d, "event": "jam", "data": {"station": 1%s, "force": 1}},'
        b' {"ts": %d, "event": "\\udfff", "data": {}},'
        b' {"ts": %d, "event": "jam", "data": {"station": 2, "force": 2}}]'
    ) % (NOW, NOW, NOW, b"0" * 30, NOW, NOW)
    d = decode(settings, payload)
    assert reasons(d) == [
        (0, "not_finite"),
        (1, "bad_value"),
        (2, "out_of_range"),
        (3, "unknown_event"),
    ]
    assert "not valid Unicode" in d.errors[1].message
    assert [r.data for r in d.rows] == [{"station": 2, "force": 2.0}]
    assert orjson.loads(orjson.dumps(d.report()))["errors"][3]["event"] == "\\udfff"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{broken", "malformed"),
        (b"[" * 10_000 + b"]" * 10_000, "malformed"),
        (b"42", "malformed"),
        (orjson.dumps([{"event": "door_open"}] * (MAX_EVENTS_PER_MESSAGE + 1)), "too_many_events"),
    ],
    ids=["not-json", "deep-nesting", "not-object", "too-many"],
)
def test_whole_message_faults(settings, payload: bytes, code: str) -> None:
    d = decode(settings, payload)
    assert d.fault == code
    assert d.rows == []
    assert dict(d.reasons) == {code: 1}
    report = d.report()
    assert report["error"]["code"] == code
    assert report["accepted"] == 0


def test_oversize_payload(settings) -> None:
    small = settings.model_copy(update={"max_payload_bytes": 100})
    d = decode(small, [JAM] * 5)
    assert d.fault == "too_large"
    assert "exceeds the limit of 100" in d.fault_message


def test_unknown_and_disabled_devices_reject_every_event(settings) -> None:
    d = decode(settings, [JAM, {"event": "door_open"}], ref=None)
    assert reasons(d) == [(0, "unknown_device"), (1, "unknown_device")]
    assert d.errors[0].event == "jam"
    disabled = DeviceRef(tenant=TENANT, device="press-1", device_type="press", enabled=False)
    assert reasons(decode(settings, JAM, ref=disabled)) == [(0, "device_disabled")]


def test_device_without_thing_model(settings) -> None:
    bare = DeviceRef(tenant=TENANT, device="press-1", device_type=None)
    d = decode(settings, JAM, ref=bare)
    assert reasons(d) == [(0, "unknown_event")]
    assert "no thing model" in d.errors[0].message


def test_listed_errors_are_bounded(settings) -> None:
    d = decode(settings, [{"event": "nope"}] * 500)
    assert d.rejected == 500
    assert len(d.errors) == 100
    assert d.reasons["unknown_event"] == 500
