"""Self-monitoring: Prometheus metrics, ``/metrics``, ``/healthz`` and ``/readyz`` for every role.

The bottom layer (stdlib, prometheus_client, starlette only), so that every part of the
platform can count into the same metric objects without importing any other part.
"""
