"""Limits of the native JSON payload (``{"ts", "values"}``) that both sides must agree on: the
gateway splits its messages by them, the platform refuses what exceeds them."""

from __future__ import annotations

# A message or body may carry at most this many points; more is refused as a whole, so that
# 100k keys cannot turn one message into 100k error records.
MAX_POINTS_PER_MESSAGE = 10_000
