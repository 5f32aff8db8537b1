"""The notifications' Prometheus metrics (labels: channel kind and a bounded reason)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SENT = Counter(
    "helan_notify_sent",
    "Notifications a receiver accepted (2xx, SMTP accepted, PUBACK, command answered).",
    ["kind"],
)
FAILED = Counter(
    "helan_notify_failed_attempts",
    "Delivery attempts that failed and will be retried (or given up on).",
    ["kind"],
)
DEAD = Counter(
    "helan_notify_dead",
    "Deliveries given up on (attempts or age exhausted, or refused for good): dead letters.",
    ["kind"],
)
SUPPRESSED = Counter(
    "helan_notify_suppressed",
    "Notifications a channel's rate limit suppressed (summarised when its window reopens).",
    ["kind"],
)
HELD = Counter(
    "helan_notify_held",
    "Times a notification was held because its channel was in quiet hours.",
    ["kind"],
)
LATENCY = Histogram(
    "helan_notify_latency_seconds",
    "From the commit of the notice to its acceptance by the receiver.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0),
)
