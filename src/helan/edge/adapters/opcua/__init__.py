"""OPC UA adapter (asyncua): subscriptions with deadband, recovery after restarts, writes, calls.

Only the configuration is imported here: asyncua costs ~0.3 s and tens of MB, which a gateway
without OPC UA connections should not pay (the adapter is ``.adapter.OpcUaAdapter``).
"""

from helan.edge.adapters.opcua.config import OpcUaConnection, OpcUaNode, OpcUaService

__all__ = ["OpcUaConnection", "OpcUaNode", "OpcUaService"]
