"""``helan bench trace``: the traceability store at the scale the issue asks for.

- ``events_per_s``: documents of 100 GS1-shaped ObjectEvents (the standard's 9.6.1 shape:
  two SGTINs, readPoint, bizLocation, business transactions, an extension field) captured
  the way the API does (JSON parse, schema and CBV checks, one transaction per document)
  into the embedded store that already holds ``events_in_store`` events; the in-run
  baseline is SQLite inserting the same rows with no parsing or checks, and the ratio.
- ``events_in_store``: bulk-generated inside SQLite (a recursive CTE writes events, their
  JSON and the identifier index, raw lots → batches → units → cases → pallets → shipping),
  not through the API.
- ``trace_p99_ms``: backward trace of a product through 5 levels of transformations and
  1,000 inputs at the deepest level (1,655 identifiers), over the full store.
- ``recall_p99_ms``: recall of a raw lot (finished goods, holders, paths) over the full store.
- ``remote_trace_p99_ms``: a backward trace that crosses into another platform's trace
  service over loopback HTTP (its share API, a token agreement; 130 identifiers there).
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from helan.observe.report import report

TENANT = "bench"
PREFIX = "88.9.9"
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "http://ns.example.com/epcis/"},
]
_GROUP = 10  # events per generated supply-chain group


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def bulk_load(path: Path, events: int) -> float:
    """Write ``events`` events (whole groups of 10) straight into the store's tables."""
    from helan.trace.store import SCHEMA

    groups = events // _GROUP
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(SCHEMA)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute(
        "INSERT OR IGNORE INTO contexts (id, body) VALUES (1, ?)", (orjson.dumps(CONTEXT[:1]),)
    )
    started = time.perf_counter()
    h = f"hdl:{PREFIX}/"
    e = f"{PREFIX}/"
    # (role, key format, epc format) per event kind j; %1$ is the group number g.
    kinds: list[tuple[str, str, str, str | None, list[tuple[str, str]]]] = [
        ("ObjectEvent", "ADD", "commissioning", None, [("epc", "r%09d")]),
        (
            "TransformationEvent",
            "",
            "commissioning",
            None,
            [("input", "r%09d"), ("input", "r%09d+"), ("output", "b%09d")],
        ),
        (
            "TransformationEvent",
            "",
            "commissioning",
            None,
            [("input", "b%09d"), ("output", "u%09da"), ("output", "u%09db")],
        ),
        (
            "AggregationEvent",
            "ADD",
            "packing",
            None,
            [("parent", "c%09d"), ("child", "u%09da"), ("child", "u%09db")],
        ),
        ("AggregationEvent", "ADD", "loading", None, [("parent", "p%09d/"), ("child", "c%09d")]),
        (
            "ObjectEvent",
            "OBSERVE",
            "shipping",
            "urn:epc:id:sgln:6901234.00001.0",
            [("epc", "c%09d")],
        ),
        ("ObjectEvent", "OBSERVE", "inspecting", None, [("epc", "u%09da")]),
        ("ObjectEvent", "OBSERVE", "inspecting", None, [("epc", "u%09db")]),
        (
            "ObjectEvent",
            "OBSERVE",
            "receiving",
            "urn:epc:id:sgln:6909999.00001.0",
            [("epc", "c%09d")],
        ),
        (
            "ObjectEvent",
            "OBSERVE",
            "storing",
            "urn:epc:id:sgln:6909999.00001.0",
            [("epc", "c%09d")],
        ),
    ]

    def ident(fmt: str) -> str:
        """SQL for the identifier of ``fmt`` in group g ('+': the next group's, '/': g/100)."""
        base = fmt.rstrip("+/")
        g = "g + 1" if fmt.endswith("+") else "g / 100" if fmt.endswith("/") else "g"
        return f"printf('{base}', {g})"

    series = "WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {})"
    series = series.format(groups - 1)
    lists = {
        "epc": "epcList",
        "input": "inputEPCList",
        "output": "outputEPCList",
        "child": "childEPCs",
    }
    # Indexes are built after the rows (sorting once beats inserting in key order 10 M times),
    # and the identifier index is filled from a staging table in key order.
    con.execute("DROP INDEX IF EXISTS ix_events_id")
    con.execute("DROP INDEX IF EXISTS ix_events_time")
    con.execute(
        "CREATE TEMP TABLE refs_load (tenant TEXT, key TEXT, seq INTEGER, n INTEGER, "
        "role TEXT, cls INTEGER)"
    )
    con.execute("BEGIN")
    for j, (kind, action, step, loc, refs) in enumerate(kinds):
        fields = []
        for field in ("epc", "input", "output", "child"):
            ids = [ident(f) for r, f in refs if r == field]
            if ids:
                parts = " || '\",\"' || ".join(f"'{e}' || {x}" for x in ids)
                fields.append(f"',\"{lists[field]}\":[\"' || {parts} || '\"]'")
        parent = [ident(f) for r, f in refs if r == "parent"]
        if parent:
            fields.append(f"',\"parentID\":\"{e}' || {parent[0]} || '\"'")
        if action:
            fields.append(f'\',"action":"{action}"\'')
        if loc:
            fields.append(f'\',"bizLocation":{{"id":"{loc}"}}\'')
        eid = f"printf('%010d', g * 10 + {j})"
        when = f"strftime('%Y-%m-%dT%H:%M:%SZ', 1767225600 + g * 10 + {j}, 'unixepoch')"
        body = (
            f'\'{{"type":"{kind}","eventID":"urn:uuid:bench-\' || {eid} || \'",'
            f'"eventTime":"\' || {when} || \'",'
            f'"eventTimeZoneOffset":"+08:00","bizStep":"{step}"\' || '
            + " || ".join(fields)
            + " || '}'"
        )
        ref_json = " || ',' || ".join(
            f"'[\"{r}\",\"{h}' || {ident(f)} || '\",null,null,false,\"{e}' || {ident(f)} || '\"]'"
            for r, f in refs
        )
        con.execute(
            f"""{series}
            INSERT INTO events (seq, tenant, event_id, event_type, event_time, record_time,
              action, biz_step, disposition, read_point, biz_location, declared_error,
              context_id, refs, body)
            SELECT g * 10 + {j} + 1, '{TENANT}', 'urn:uuid:bench-' || {eid},
              '{kind}', (1767225600 + g * 10 + {j}) * 1000, (1767225600 + g * 10 + {j}) * 1000,
              {f"'{action}'" if action else "NULL"}, '{step}', NULL, NULL,
              {f"'{loc}'" if loc else "NULL"}, 0, 1, '[' || {ref_json} || ']', {body}
            FROM s"""  # noqa: S608 - generated from constants
        )
        for n, (role, fmt) in enumerate(refs):
            cls = 0
            con.execute(
                f"""{series}
                INSERT INTO refs_load (tenant, key, seq, n, role, cls)
                SELECT '{TENANT}', '{h}' || {ident(fmt)}, g * 10 + {j} + 1, {n}, '{role}', {cls}
                FROM s"""  # noqa: S608 - generated from constants
            )
    con.execute("INSERT OR IGNORE INTO refs SELECT * FROM refs_load ORDER BY tenant, key, seq, n")
    con.execute("COMMIT")
    con.execute("DROP TABLE refs_load")
    con.executescript(SCHEMA)  # the events' indexes again
    con.close()
    return time.perf_counter() - started


def _tree_events(
    root: str, fanouts: tuple[int, ...], tag: str, prefix: str = PREFIX
) -> list[dict[str, Any]]:
    """Transformation events making ``root`` from a tree of inputs, level by level."""
    out: list[dict[str, Any]] = []
    level = [root]
    for depth, fan in enumerate(fanouts):
        nxt = []
        for i, node in enumerate(level):
            inputs = [f"{prefix}/{tag}-{depth}-{i}-{k}" for k in range(fan)]
            nxt.extend(inputs)
            out.append(
                {
                    "type": "TransformationEvent",
                    "eventID": f"urn:uuid:{tag}-{depth}-{i}",
                    "eventTime": "2026-02-01T08:00:00+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "inputEPCList": inputs,
                    "outputEPCList": [node],
                    "bizStep": "commissioning",
                }
            )
        level = nxt
    return out


def _doc(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-02-01T00:00:00Z",
            "epcisBody": {"eventList": events},
        }
    )


def _gs1_docs(count: int, per_doc: int) -> list[bytes]:
    docs = []
    for d in range(count):
        events = []
        for k in range(per_doc):
            n = d * per_doc + k
            events.append(
                {
                    "eventID": f"urn:uuid:cap-{n:012d}",
                    "type": "ObjectEvent",
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "disposition": "in_progress",
                    "epcList": [
                        f"urn:epc:id:sgtin:0614141.107346.{2 * n}",
                        f"urn:epc:id:sgtin:0614141.107346.{2 * n + 1}",
                    ],
                    "eventTime": "2026-04-04T20:33:31.116-06:00",
                    "eventTimeZoneOffset": "-06:00",
                    "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
                    "bizLocation": {"id": "urn:epc:id:sgln:0012345.11111.0"},
                    "bizTransactionList": [
                        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
                        {
                            "type": "desadv",
                            "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152",
                        },
                    ],
                    "example:myField": "Example of a vendor/user extension",
                }
            )
        docs.append(_doc(events))
    return docs


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def serve_share(hub: Any) -> tuple[str, Callable[[], None]]:
    """Platform A's share API on a loopback port."""
    import socket

    import uvicorn
    from fastapi import FastAPI

    from helan.api import errors
    from helan.api.routers import trace_share

    app = FastAPI()
    errors.install(app)
    app.include_router(trace_share.router)
    app.state.trace = hub
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}", stop


def run(
    events: Annotated[int, typer.Option(help="Events bulk-loaded into the store.")] = 10_000_000,
    documents: Annotated[int, typer.Option(help="100-event documents captured.")] = 200,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where the store goes (a temp dir).")
    ] = None,
) -> None:
    """Capture rate, store size, trace, recall and cross-platform trace latencies."""
    from helan.storage.meta import MetaStore
    from helan.storage.meta.models import Tenant
    from helan.trace import genealogy, identifiers
    from helan.trace.epcis.document import parse_json, read_document
    from helan.trace.remote import RemoteSource
    from helan.trace.sources import LocalSource, MergedSource
    from helan.trace.store import TraceStore

    root = Path(work_dir or tempfile.mkdtemp(prefix="helan-bench-trace-"))
    root.mkdir(parents=True, exist_ok=True)
    path = root / "events.sqlite3"
    path.unlink(missing_ok=True)
    load_s = bulk_load(path, events)
    store = TraceStore(path)
    in_store = store.count()

    def capture_all(docs: list[bytes], tenant: str) -> None:
        for body in docs:
            evs = read_document(
                parse_json(body), tenant_prefix=PREFIX, prefix_owner=lambda p: None, tenant=tenant
            )
            store.capture(tenant, evs)

    docs = _gs1_docs(documents, 100)
    t = time.perf_counter()
    capture_all(docs, TENANT)
    capture_s = time.perf_counter() - t
    captured = documents * 100
    # Baseline: the same rows, prepared beforehand, inserted with no parsing and no checks.
    prepared = [
        read_document(
            parse_json(b), tenant_prefix=PREFIX, prefix_owner=lambda p: None, tenant="base"
        )
        for b in docs
    ]
    t = time.perf_counter()
    for evs in prepared:
        store.capture("base", evs)
    base_s = time.perf_counter() - t

    # Backward trace: 20 products, each 5 levels deep with 1,000 inputs at the bottom.
    fan = (5, 5, 5, 4, 2)
    roots = [f"{PREFIX}/product-{i}" for i in range(20)]
    for i, r in enumerate(roots):
        tree = _tree_events(r, fan, f"t{i}")
        for k in range(0, len(tree), 100):
            capture_all([_doc(tree[k : k + 100])], TENANT)
    local = LocalSource(store, TENANT)
    trace_ms = []
    nodes = 0
    for r in roots:
        for _ in range(3):
            t = time.perf_counter()
            tr = genealogy.walk(identifiers.key(r), "backward", lambda k: local, max_depth=10)
            trace_ms.append((time.perf_counter() - t) * 1000)
        nodes = len(tr.nodes) - 1
    rng = random.Random(7)
    groups = max(1, in_store // _GROUP)
    lots = [f"{PREFIX}/r{rng.randrange(1, max(2, groups - 1)):09d}" for _ in range(50)]
    recall_ms = []
    goods = 0
    for lot in lots:
        t = time.perf_counter()
        rc = genealogy.recall(identifiers.key(lot), lambda k: local)
        recall_ms.append((time.perf_counter() - t) * 1000)
        goods = max(goods, len(rc["finishedGoods"]))

    # Cross-platform: platform A serves its share API; B's product is made from A's lot.
    meta = MetaStore(f"sqlite:///{(root / 'meta-a.sqlite3').as_posix()}")
    meta.migrate()
    from helan.security.principal import Principal
    from helan.services.trace import TraceHub

    with meta.session() as s:
        if s.get(Tenant, "supplier") is None:
            s.add(Tenant(id="supplier", name="Supplier", ident_prefix="88.7.7"))
    store_a = TraceStore(root / "events-a.sqlite3")
    hub_a = TraceHub(meta, store_a)
    admin = Principal(kind="user", subject="bench", tenant="supplier", role=_admin_role())
    _, token = hub_a.create_agreement(
        admin,
        "supplier",
        agreement=f"b-{time.time_ns()}",
        audience="token",
        partner_tenant=None,
        event_types=["TransformationEvent"],
        fields=[],
    )
    lot_a = "88.7.7/lot-1"
    tree_a = _tree_events(lot_a, (5, 5, 4), "ra", prefix="88.7.7")
    evs = read_document(
        parse_json(_doc(tree_a)),
        tenant_prefix="88.7.7",
        prefix_owner=lambda p: None,
        tenant="supplier",
    )
    store_a.capture("supplier", evs)
    product_b = f"{PREFIX}/remote-product"
    capture_all(
        [_doc([{**_tree_events(product_b, (1,), "rb")[0], "inputEPCList": [lot_a]}])], TENANT
    )
    url, stop = serve_share(hub_a)
    assert token is not None
    remote = RemoteSource(url, token)
    merged = MergedSource([local, remote])
    remote_ms = []
    remote_nodes = 0
    try:
        for _ in range(30):
            t = time.perf_counter()
            tr = genealogy.walk(
                identifiers.key(product_b),
                "backward",
                lambda k: merged if k.startswith("hdl:88.7.7/") else local,
                max_depth=10,
            )
            remote_ms.append((time.perf_counter() - t) * 1000)
            remote_nodes = len(tr.nodes) - 1
    finally:
        stop()
    events_per_s = captured / capture_s
    base_per_s = captured / base_s
    figures = {
        "events_per_s": round(events_per_s),
        "events_in_store": in_store,
        "trace_p99_ms": round(_p99(trace_ms), 2),
        "recall_p99_ms": round(_p99(recall_ms), 2),
        "remote_trace_p99_ms": round(_p99(remote_ms), 2),
        "baseline_insert_events_per_s": round(base_per_s),
        "ratio_to_baseline": round(events_per_s / base_per_s, 3),
        "trace_median_ms": round(statistics.median(trace_ms), 2),
        "trace_nodes": nodes,
        "recall_median_ms": round(statistics.median(recall_ms), 2),
        "recall_max_finished_goods": goods,
        "remote_trace_nodes": remote_nodes,
        "bulk_load_s": round(load_s, 1),
        "store_bytes": path.stat().st_size,
    }
    notes = {
        "events_per_s": "100-event GS1 9.6.1-shaped documents: parse, checks, a transaction each",
        "baseline_insert_events_per_s": "the same rows inserted with no parsing or checks",
        "trace_p99_ms": "backward, 5 levels, 1,000 inputs at the bottom (1,655 identifiers)",
        "recall_p99_ms": "50 raw lots of the bulk-loaded chains, finished goods with holders",
        "remote_trace_p99_ms": "into another platform's share API over loopback HTTP",
    }
    store.close()
    store_a.close()
    meta.close()
    report("helan bench trace", figures, notes)


def _admin_role() -> Any:
    from helan.security.principal import Role

    return Role.TENANT_ADMIN
