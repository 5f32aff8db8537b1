"""The platform's own Prometheus metrics, registered once in the default registry.

Labels are bounded sets: a tenant, a reason code, an operation name, a route template, never a
device id or a raw path, so a scrape stays small whatever the fleet size. Ingest's per-tenant
counts are not here: :mod:`helan.ingest.counters` keeps them for the tenant-facing report and
exports the same numbers through a collector, so nothing is counted twice.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

from helan import __version__

# Seconds; a batch write is milliseconds when healthy and seconds when the store struggles.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

BUILD = Info("helan_build", "The running Helan version.")
BUILD.info({"version": __version__})

BATCH_WRITE_SECONDS = Histogram(
    "helan_ingest_batch_write_seconds",
    "Time to write one telemetry batch (every tenant's points of one flush) to the store.",
    buckets=LATENCY_BUCKETS,
)

STREAM_LAG = Gauge(
    "helan_stream_subscriber_lag_batches",
    "Committed batches waiting in a committed-stream subscriber's queue.",
    ["subscriber"],
)
STREAM_LAG_SECONDS = Gauge(
    "helan_stream_subscriber_lag_seconds",
    "Age of the oldest committed batch waiting in a committed-stream subscriber's queue.",
    ["subscriber"],
)
STREAM_DROPPED = Counter(
    "helan_stream_dropped_batches",
    "Committed batches a slow committed-stream subscriber lost because its queue was full.",
    ["subscriber"],
)

BROKER_CONNECTIONS = Gauge(
    "helan_broker_connections",
    "Client connections to the embedded MQTT broker.",
)

# helan_handle_requests_total{opcode,response_code,transport} is collected by
# helan.ident.server.metrics from plain counts: the UDP answer path is too hot for a labelled
# counter's lock.
HANDLE_TRUNCATED = Counter(
    "helan_handle_truncated",
    "Handle UDP replies too long for a datagram, sent truncated (the client retries over TCP).",
    ["transport"],
)
HANDLE_FAILURES = Counter(
    "helan_handle_failures",
    "Handle requests that got no reply: a responder error or an unsendable reply.",
    ["transport"],
)

HTTP_REQUEST_SECONDS = Histogram(
    "helan_http_request_duration_seconds",
    "HTTP request time, by method, matched route template ('unmatched' when none) and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
