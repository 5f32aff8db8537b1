"""Sockets around the pure parts: UDP and TCP listeners, a client, the caching resolver."""
