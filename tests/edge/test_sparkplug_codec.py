"""Sparkplug B payload codec and topics: round trips, signed integers, malformed input."""

from __future__ import annotations

import pytest

from helan.protocol.sparkplug import (
    BadSparkplugTopic,
    DataType,
    Metric,
    Payload,
    SparkplugError,
    decode_payload,
    encode_payload,
    parse_topic,
)
from helan.protocol.sparkplug import sparkplug_b_pb2 as pb

CASES = [
    (DataType.INT8, -128),
    (DataType.INT16, -2),
    (DataType.INT32, -(2**31)),
    (DataType.INT64, -(2**63)),
    (DataType.UINT8, 255),
    (DataType.UINT32, 2**32 - 1),
    (DataType.UINT64, 2**64 - 1),
    (DataType.FLOAT, 1.1),
    (DataType.DOUBLE, -0.000123),
    (DataType.BOOLEAN, True),
    (DataType.STRING, "läuft"),
    (DataType.DATETIME, 1_700_000_000_000),
    (DataType.BYTES, b"\x00\xff"),
]


@pytest.mark.parametrize(("datatype", "value"), CASES)
def test_round_trip_every_type(datatype: DataType, value: object) -> None:
    metric = Metric(name="m", alias=7, timestamp=5, datatype=datatype, value=value)  # type: ignore[arg-type]
    body = Payload(timestamp=1, seq=3, metrics=(metric,))
    back = decode_payload(encode_payload(body))
    assert back == body


def test_negative_ints_are_twos_complement_on_the_wire() -> None:
    data = encode_payload(Payload(metrics=(Metric(name="t", datatype=DataType.INT16, value=-2),)))
    raw = pb.Payload()
    raw.ParseFromString(data)
    assert raw.metrics[0].int_value == 2**32 - 2  # what Tahu and Ignition send


def test_alias_only_data_uses_birth_types() -> None:
    data = encode_payload(
        Payload(seq=4, metrics=(Metric(alias=3, datatype=DataType.INT32, value=-5),))
    )
    raw = pb.Payload()
    raw.ParseFromString(data)
    raw.metrics[0].ClearField("datatype")  # DDATA normally carries no datatype
    stripped = raw.SerializeToString()
    assert decode_payload(stripped).metrics[0].value == 2**32 - 5  # unknown type: raw
    assert decode_payload(stripped, {3: DataType.INT32}).metrics[0].value == -5


def test_null_and_properties() -> None:
    m = Metric(
        name="p", datatype=DataType.DOUBLE, value=None, properties={"Quality": 0, "Error": "x"}
    )
    back = decode_payload(encode_payload(Payload(metrics=(m,)))).metrics[0]
    assert back.value is None
    assert back.properties == {"Quality": 0, "Error": "x"}


def test_values_that_do_not_fit_are_refused() -> None:
    with pytest.raises(SparkplugError, match="out of range for INT8"):
        encode_payload(Payload(metrics=(Metric(name="x", datatype=DataType.INT8, value=200),)))
    with pytest.raises(SparkplugError, match="needs a bool"):
        encode_payload(Payload(metrics=(Metric(name="x", datatype=DataType.BOOLEAN, value=1),)))


def test_truncated_payload_is_a_clear_error() -> None:
    data = encode_payload(
        Payload(seq=1, metrics=(Metric(name="pressure", datatype=DataType.STRING, value="x" * 50),))
    )
    with pytest.raises(SparkplugError, match="not a Sparkplug B payload"):
        decode_payload(data[: len(data) // 2])
    with pytest.raises(SparkplugError):
        decode_payload(b"\xff\xff\xff")


def test_value_in_the_wrong_field_is_refused() -> None:
    raw = pb.Payload()
    m = raw.metrics.add()
    m.name, m.datatype, m.string_value = "x", DataType.DOUBLE, "oops"
    with pytest.raises(SparkplugError, match="DOUBLE value carried in string_value"):
        decode_payload(raw.SerializeToString())
    m.datatype = 99
    with pytest.raises(SparkplugError, match="unsupported datatype 99"):
        decode_payload(raw.SerializeToString())


def test_topics() -> None:
    t = parse_topic("spBv1.0/acme/DDATA/edge-1/pump-1")
    assert (t.group, t.message_type, t.edge_node, t.device) == ("acme", "DDATA", "edge-1", "pump-1")
    assert str(t) == "spBv1.0/acme/DDATA/edge-1/pump-1"
    assert parse_topic("spBv1.0/acme/NBIRTH/edge-1").device is None
    for bad in ("spBv1.0/acme/DDATA/edge-1", "spBv1.0/acme/NDATA/e/d", "spAv1.0/a/NDATA/e", "x"):
        with pytest.raises(BadSparkplugTopic):
            parse_topic(bad)
