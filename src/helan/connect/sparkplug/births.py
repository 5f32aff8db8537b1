"""The host's birth certificates kept in the metadata database (blocking; run in a thread).

Why the metadata database and not a file in ``data_dir``: births are tied to the tenants and
devices that live there, written rarely (once per NBIRTH/DBIRTH, never per DATA message), and a
platform split into roles or moved to another machine finds them where it finds its devices.
Only the birth is kept, not the last ``seq``: writing per DATA message would cost a commit each,
and after a restart the sequence is taken afresh from the first message anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from helan.connect.sparkplug.host import StoredBirth
from helan.protocol.sparkplug.codec import DataType
from helan.storage.meta import MetaStore
from helan.storage.meta.models import SparkplugBirth, Tenant

NODE = ""  # the ``device`` column of an edge node's own birth


def save_births(
    meta: MetaStore,
    tenant: str,
    remember: Sequence[StoredBirth],
    forget: Sequence[tuple[str, str | None]],
) -> None:
    """Apply births and deaths in arrival order; an NBIRTH or NDEATH replaces or drops every
    row of its node. Nothing is kept for a group that is not a tenant."""
    with meta.session() as s:
        if s.get(Tenant, tenant) is None:
            return
        gone: list[tuple[str, str | None]] = [
            *forget,
            *((b.edge_node, b.device) for b in remember),
        ]
        for edge_node, device in gone:
            where = sa.and_(
                SparkplugBirth.tenant_id == tenant, SparkplugBirth.edge_node == edge_node
            )
            if device is not None:
                where = sa.and_(where, SparkplugBirth.device == device)
            s.execute(sa.delete(SparkplugBirth).where(where))
        for b in remember:
            s.add(
                SparkplugBirth(
                    tenant_id=tenant,
                    edge_node=b.edge_node,
                    device=b.device if b.device is not None else NODE,
                    bdseq=b.bdseq,
                    helan_commands=b.helan_commands,
                    metrics=[[name, alias, int(dt)] for name, alias, dt in b.metrics],
                )
            )


def load_births(
    meta: MetaStore, tenants: Iterable[str] | None = None
) -> dict[str, list[StoredBirth]]:
    """Every kept birth by tenant (of ``tenants`` only, when given)."""
    query = sa.select(SparkplugBirth)
    if tenants is not None:
        query = query.where(SparkplugBirth.tenant_id.in_(list(tenants)))
    out: dict[str, list[StoredBirth]] = defaultdict(list)
    with meta.session() as s:
        for row in s.scalars(query):
            out[row.tenant_id].append(to_birth(row))
    return dict(out)


def to_birth(row: SparkplugBirth) -> StoredBirth:
    return StoredBirth(
        edge_node=row.edge_node,
        device=row.device or None,
        metrics=tuple((str(n), a, DataType(dt)) for n, a, dt in row.metrics),
        bdseq=row.bdseq,
        helan_commands=row.helan_commands,
    )
