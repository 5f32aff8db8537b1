"""Upstream: MQTT sessions and the two payload formats (native JSON, Sparkplug B)."""
