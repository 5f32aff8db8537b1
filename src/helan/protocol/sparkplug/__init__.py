"""Sparkplug B: the protobuf payload codec and topic namespace, shared by edge and platform."""

from helan.protocol.sparkplug.codec import (
    DataType,
    Metric,
    Payload,
    SparkplugError,
    decode_payload,
    encode_payload,
)
from helan.protocol.sparkplug.topics import BadSparkplugTopic, SparkplugTopic, parse_topic

__all__ = [
    "BadSparkplugTopic",
    "DataType",
    "Metric",
    "Payload",
    "SparkplugError",
    "SparkplugTopic",
    "decode_payload",
    "encode_payload",
    "parse_topic",
]
