"""OPC UA with Basic256Sha256 SignAndEncrypt and a username login, certificates made here with
``cryptography``: the adapter connects with its own certificate; an untrusted certificate, a
wrong password or no security at all give a clear connection status and BAD points, no crash."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from asyncua.crypto.cert_gen import generate_private_key, generate_self_signed_app_certificate
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID

from helan.edge.adapters.opcua import OpcUaConnection
from helan.edge.adapters.opcua.adapter import OpcUaAdapter
from helan.edge.readings import SampleSet
from helan.sim.plc.opcua import SimulatedOpcUaPlc
from tests.conftest import eventually, free_port

SERVER_URI = "urn:freeopcua:python:server"  # asyncua's server application URI
CLIENT_URI = "urn:helan:edge"


@dataclass
class Pki:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path
    rogue_key: Path
    trusted: Path


def _pair(folder: Path, name: str, uri: str, usage: x509.ObjectIdentifier) -> tuple[Path, Path]:
    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key,
        name,
        {"organizationName": "Helan tests"},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(socket.gethostname())],
        [usage],
        days=2,
    )
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    server = _pair(folder, "oven-plc", SERVER_URI, ExtendedKeyUsageOID.SERVER_AUTH)
    client = _pair(folder, "edge", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH)
    rogue = _pair(folder, "rogue", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH)
    trusted = folder / "trusted"
    trusted.mkdir()
    (trusted / "edge.der").write_bytes(client[0].read_bytes())
    return Pki(*server, *client, *rogue, trusted)


@pytest.fixture
async def secure_plc(pki: Pki) -> AsyncIterator[SimulatedOpcUaPlc]:
    plc = SimulatedOpcUaPlc(
        port=free_port(),
        certificate=pki.server_cert,
        private_key=pki.server_key,
        users={"edge": "oven-secret"},
        trusted=pki.trusted,
    )
    await plc.start()
    yield plc
    await plc.stop()


def _conn(plc: SimulatedOpcUaPlc, pki: Pki, **overrides: Any) -> OpcUaConnection:
    spec: dict[str, Any] = {
        "name": "oven-plc",
        "endpoint": plc.endpoint,
        "device": "oven-1",
        "publishing_interval_ms": 50,
        "timeout_s": 2,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 0.5,
        "security_policy": "Basic256Sha256",
        "security_mode": "SignAndEncrypt",
        "certificate": pki.client_cert,
        "private_key": pki.client_key,
        "server_certificate": pki.server_cert,
        "application_uri": CLIENT_URI,
        "username": "edge",
        "password": "oven-secret",
        "nodes": [
            {"metric": "count", "node_id": "ns=2;s=Oven.Count", "sampling_interval_ms": 50},
            {"metric": "setpoint", "node_id": "ns=2;s=Oven.Setpoint", "writable": True},
        ],
    }
    spec.update(overrides)
    return OpcUaConnection.model_validate(spec)


async def test_sign_and_encrypt_with_certificate_and_login(
    secure_plc: SimulatedOpcUaPlc, pki: Pki
) -> None:
    adapter = OpcUaAdapter(_conn(secure_plc, pki))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: sum("count" in s.values for s in got) >= 3)
        assert adapter.client is not None
        policy = adapter.client.security_policy
        assert policy.URI == "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
        assert policy.Mode is ua.MessageSecurityMode.SignAndEncrypt
        await adapter.write("oven-1", "setpoint", 210.0)  # through the encrypted session
        assert await secure_plc.setpoint.read_value() == 210.0
        assert adapter.status.connected
        assert adapter.status.errors == 0
    finally:
        await adapter.stop()


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"certificate": "rogue", "private_key": "rogue"}, "BadCertificateUntrusted"),
        ({"password": "guess"}, "BadUserAccessDenied"),
        (
            {"security_policy": "None", "certificate": None, "private_key": None},
            "No matching endpoints",
        ),
    ],
    ids=["untrusted-certificate", "wrong-password", "no-security"],
)
async def test_refused_connections_are_a_clear_status(
    secure_plc: SimulatedOpcUaPlc, pki: Pki, overrides: dict[str, Any], status: str
) -> None:
    if overrides.get("certificate") == "rogue":
        overrides = {"certificate": pki.rogue_cert, "private_key": pki.rogue_key}
    adapter = OpcUaAdapter(_conn(secure_plc, pki, **overrides))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: adapter.status.errors >= 2)  # it keeps retrying, with backoff
        assert not adapter.status.connected
        assert status in (adapter.status.last_error or "")
    finally:
        await adapter.stop()
    assert len(got) == 1  # every point BAD once, not on every retry
    assert set(got[0].bad) == {"count", "setpoint"}
    assert not got[0].values
