"""The Handle.Net JSON REST API (``/api/handles``) over a node's registry."""
