"""pcap/pcapng reading, the detector over written captures and ``helan security pcap``: a
normal start learned, attacks after it flagged, malformed files refused with a clear error."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import dpkt
import pytest
from typer.testing import CliRunner

from helan.security.cli import app
from helan.security.traffic.bench import figures
from helan.security.traffic.detector import Packet, TrafficDetector
from helan.security.traffic.evaluate import read_labels, score
from helan.security.traffic.modbus import MalformedFrame, split_adus
from helan.security.traffic.pcap import PcapError, read_packets

SCADA, PLC, INTRUDER = "10.0.0.1", "10.0.0.2", "10.0.0.9"


def _mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _frame(
    src: str, dst: str, sport: int, dport: int, payload: bytes = b"", *, syn: bool = False
) -> bytes:
    tcp = dpkt.tcp.TCP(
        sport=sport,
        dport=dport,
        flags=dpkt.tcp.TH_SYN if syn else dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH,
        data=payload,
    )
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp
    )
    ip.len = len(bytes(ip))
    eth = dpkt.ethernet.Ethernet(
        src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip
    )
    return bytes(eth)


def _read(client: str, port: int, tid: int, fc: int, address: int, count: int) -> list[bytes]:
    request = _mbap(tid, 1, struct.pack(">BHH", fc, address, count))
    reply = _mbap(tid, 1, bytes([fc, 2 * count]) + b"\x00" * 2 * count)
    return [_frame(client, PLC, port, 502, request), _frame(PLC, client, 502, port, reply)]


def _capture() -> tuple[list[tuple[float, bytes]], list[bool]]:
    """20 s of polling (3 reads a second), then: new peer, write, diagnostics, scan."""
    frames: list[tuple[float, bytes, bool]] = []
    t, tid = 1000.0, 0
    frames.append((t, _frame(SCADA, PLC, 40000, 502, syn=True), False))
    for _ in range(60):
        tid += 1
        for f in _read(SCADA, 40000, tid, 3, 0, 10):
            frames.append((t, f, False))
        t += 0.33
    attacks = [
        _read(INTRUDER, 41000, 1, 3, 0, 10),  # new peer
        [_frame(SCADA, PLC, 40000, 502, _mbap(900, 1, struct.pack(">BHH", 6, 9, 1)))],  # write
        [_frame(SCADA, PLC, 40000, 502, _mbap(901, 1, struct.pack(">BHH", 8, 0, 0)))],  # FC 8
    ]
    for packets in attacks:
        for f in packets:
            frames.append((t, f, True))
        t += 0.33
        tid += 1
        for f in _read(SCADA, 40000, tid, 3, 0, 10):  # polling goes on: normal
            frames.append((t, f, False))
        t += 0.33
    return [(ts, f) for ts, f, _ in frames], [m for _, _, m in frames]


def _write(
    path: Path, frames: list[tuple[float, bytes]], *, ng: bool = False, link: int = 1
) -> Path:
    with path.open("wb") as out:
        writer = (
            dpkt.pcapng.Writer(out, linktype=link) if ng else dpkt.pcap.Writer(out, linktype=link)
        )
        for ts, frame in frames:
            writer.writepkt(frame, ts=ts)
    return path


@pytest.mark.parametrize("ng", [False, True])
def test_capture_scored(tmp_path: Path, ng: bool) -> None:
    frames, labels = _capture()
    path = _write(tmp_path / ("c.pcapng" if ng else "c.pcap"), frames, ng=ng)
    seen: list[tuple[int, tuple[str, ...]]] = []
    summary = score(
        path,
        TrafficDetector(learn_s=15),
        labels=labels,
        each=lambda n, _p, v: (
            seen.append((n, tuple(a.kind for a in v.alerts))) if v.alerts else None
        ),
    )
    assert summary.packets == len(frames)
    kinds = {k for _, ks in seen for k in ks}
    assert {"new_modbus_peer", "unexpected_write", "diagnostics"} <= kinds
    assert summary.detected == summary.malicious == 4
    # the write and FC 8 share the polling connection: it stays flagged after them
    assert summary.false_alarms == 4
    figures = summary.figures()
    assert figures["recall"] == 1.0
    assert figures["packets_per_s"]


def test_scan_during_learning_is_not_learned() -> None:
    """A peer drawing exceptions in bulk while the detector learns stays unknown after."""
    detector = TrafficDetector(learn_s=10)
    t = 0.0
    for address in range(0, 40):
        request = _mbap(address, 1, struct.pack(">BHH", 1, address, 1))
        reply = _mbap(address, 1, b"\x81\x02")
        for frame in (
            _frame(INTRUDER, PLC, 41000, 502, request),
            _frame(PLC, INTRUDER, 502, 41000, reply),
        ):
            assert detector.observe(_packet(t, frame)).learning
        t += 0.1
    detector.observe(_packet(20.0, _frame(SCADA, PLC, 40000, 502, syn=True)))  # learning ends
    verdict = detector.observe(_packet(21.0, _read(INTRUDER, 41001, 99, 1, 0, 1)[0]))
    assert verdict.flagged
    assert verdict.alerts[0].kind == "new_modbus_peer"


def _packet(ts: float, frame: bytes) -> Packet:
    from helan.security.traffic.pcap import decode

    return decode(ts, frame)


def test_split_adus_across_segments_and_malformed() -> None:
    adu = _mbap(7, 1, struct.pack(">BHH", 16, 100, 2) + b"\x04\x00\x01\x00\x02")
    first, rest = split_adus(adu[:5], request=True)
    assert first == []
    assert rest == adu[:5]
    adus, rest = split_adus(rest + adu[5:] + adu, request=True)
    assert rest == b""
    assert len(adus) == 2
    assert (adus[0].function, adus[0].address, adus[0].count, adus[0].write) == (16, 100, 2, True)
    exc, _ = split_adus(_mbap(8, 1, b"\x83\x02"), request=False)
    assert (exc[0].function, exc[0].exception) == (3, 2)
    with pytest.raises(MalformedFrame):
        split_adus(struct.pack(">HHHB", 1, 7, 6, 1) + b"\x03\x00\x00\x00\x01", request=True)
    with pytest.raises(MalformedFrame):
        split_adus(struct.pack(">HHHB", 1, 0, 1000, 1), request=True)


def test_malformed_stream_alerts_once() -> None:
    detector = TrafficDetector(learn_s=0)
    detector.observe(_packet(0.0, _read(SCADA, 40000, 1, 3, 0, 1)[0]))
    garbage = _frame(SCADA, PLC, 40000, 502, b"\xff" * 20)
    assert [a.kind for a in detector.observe(_packet(1.0, garbage)).alerts] == ["malformed"]
    assert detector.observe(_packet(2.0, garbage)).alerts == ()  # the stream is given up on


def test_truncated_record(tmp_path: Path) -> None:
    frames, _ = _capture()
    path = _write(tmp_path / "c.pcap", frames[:10])
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(PcapError, match="record 10 truncated"):
        list(read_packets(path))
    path.write_bytes(data[: -(len(frames[9][1]) + 4)])  # record header cut
    with pytest.raises(PcapError, match="record 10"):
        list(read_packets(path))


def test_truncated_pcapng_block(tmp_path: Path) -> None:
    frames, _ = _capture()
    path = _write(tmp_path / "c.pcapng", frames[:5], ng=True)
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(PcapError, match="record 5"):
        list(read_packets(path))


def test_wrong_link_type_and_not_a_capture(tmp_path: Path) -> None:
    frames, _ = _capture()
    with pytest.raises(PcapError, match="unsupported link type 105"):
        list(read_packets(_write(tmp_path / "wifi.pcap", frames[:3], link=105)))
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"GET / HTTP/1.1\r\n" * 4)
    with pytest.raises(PcapError, match="not a pcap or pcapng"):
        list(read_packets(junk))


def test_labels(tmp_path: Path) -> None:
    good = tmp_path / "l.csv"
    good.write_text("1;0\n2;1\n3;0\n")
    assert read_labels(good) == [False, True, False]
    bad = tmp_path / "b.csv"
    bad.write_text("1;0\n3;1\n")
    with pytest.raises(ValueError, match=r"expected .2;0\|1."):
        read_labels(bad)


def test_cli(tmp_path: Path) -> None:
    frames, labels = _capture()
    path = _write(tmp_path / "c.pcap", frames)
    csv = tmp_path / "c.csv"
    csv.write_text("".join(f"{n};{int(m)}\n" for n, m in enumerate(labels, 1)))
    result = CliRunner().invoke(app, ["pcap", str(path), "--learn-s", "15", "--labels", str(csv)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert any("ALERT unexpected_write[high]" in line for line in lines[:-1])
    last = json.loads(lines[-1])
    assert last["packets"] == len(frames)
    assert last["recall"] == 1.0
    assert 0 < last["false_alarm_rate"] < 0.2
    quiet = CliRunner().invoke(app, ["pcap", str(path), "--show", "none"])
    assert len(quiet.output.strip().splitlines()) == 1
    path.write_bytes(path.read_bytes()[:-3])
    broken = CliRunner().invoke(app, ["pcap", str(path)])
    assert broken.exit_code == 2
    assert "truncated" in broken.output
    wrong = CliRunner().invoke(app, ["pcap", str(path), "--labels", str(csv), "--show", "x"])
    assert wrong.exit_code == 2


def test_bench_figures(tmp_path: Path) -> None:
    frames, labels = _capture()
    _write(tmp_path / "attack.pcap", frames)
    (tmp_path / "attack_labeled.csv").write_text(
        "".join(f"{n};{int(m)}\n" for n, m in enumerate(labels, 1))
    )
    _write(tmp_path / "unlabelled.pcap", frames[:4])
    out = figures(tmp_path, learn_s=15)
    assert list(out) == ["attack"]
    assert out["attack"]["recall"] == 1.0
    assert out["attack"]["malicious"] == 4
