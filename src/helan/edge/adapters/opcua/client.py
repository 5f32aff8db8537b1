"""asyncua's client set up from the connection config: security, login, one subscription.

asyncua 2.x supervises the connection itself (``auto_reconnect``): after a server restart it
opens a new session and re-creates the subscription and its monitored items; the adapter
watches its state to report the connection status and mark points BAD while it is down.
"""

from __future__ import annotations

from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeNotif, Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from helan.edge.adapters.opcua.config import OpcUaConnection, OpcUaNode


class DataHandler:
    """asyncua calls this for each data change; it forwards to a plain callback."""

    def __init__(self, on_change: Any) -> None:
        self.on_change = on_change

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        self.on_change(node, data.monitored_item.Value)


async def open_client(conn: OpcUaConnection) -> Client:
    client = Client(
        conn.endpoint,
        timeout=conn.timeout_s,
        watchdog_intervall=1.0,
        auto_reconnect=True,
        reconnect_max_delay=conn.reconnect_max_s,
    )
    client.application_uri = conn.application_uri  # servers check it against the certificate
    if conn.username is not None and conn.password is not None:
        client.set_user(conn.username)
        client.set_password(conn.password.get_secret_value())
    if conn.security_policy == "Basic256Sha256":
        if conn.certificate is None or conn.private_key is None:
            raise ValueError(f"{conn.name}: Basic256Sha256 needs certificate and private_key")
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=str(conn.certificate),
            private_key=str(conn.private_key),
            server_certificate=str(conn.server_certificate) if conn.server_certificate else None,
            mode=getattr(ua.MessageSecurityMode, conn.security_mode),
        )
    await client.connect()
    return client


BUILD_INFO = {  # the standard nodes' ids: Server_ServerStatus_BuildInfo_*
    "manufacturer": "i=2263",
    "product": "i=2261",
    "software_version": "i=2264",
}


async def build_info(client: Client) -> dict[str, str]:
    """The server's ``Server_ServerStatus_BuildInfo`` (manufacturer, product, software
    version): what the PLC says it runs, for the asset inventory. Empty fields are left out."""
    nodes = [client.get_node(i) for i in BUILD_INFO.values()]
    values = await client.read_values(nodes)
    return {
        name: v.strip()[:200]
        for name, v in zip(BUILD_INFO, values, strict=True)
        if isinstance(v, str) and v.strip()
    }


def nodes_by_id(conn: OpcUaConnection) -> dict[str, OpcUaNode]:
    """The map from a node's canonical id (as notifications name it) to its point.

    Known before the subscription is made: the server sends each item's first value as soon
    as the item exists, before the remaining items are created."""
    return {ua.NodeId.from_string(p.node_id).to_string(): p for p in conn.nodes}


async def subscribe(client: Client, conn: OpcUaConnection, handler: DataHandler) -> Subscription:
    """One subscription for all nodes."""
    sub = await client.create_subscription(conn.publishing_interval_ms, handler)
    for point in conn.nodes:
        node = client.get_node(point.node_id)
        if point.deadband > 0 and point.elements is None:  # arrays: per element, in the adapter
            await sub.deadband_monitor(node, ua.Double(point.deadband))
        else:
            await sub.subscribe_data_change(
                node, sampling_interval=ua.Double(point.sampling_interval_ms)
            )
    return sub
