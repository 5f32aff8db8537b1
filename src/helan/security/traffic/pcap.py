"""Packets of a pcap or pcapng file (dpkt) as the detector's :class:`Packet` records.

dpkt reads both formats but passes a record cut short by the end of the file as a shorter
packet; the file is read through a wrapper that sees every short read, so a truncated
capture is an error naming the record, never silently scored.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import dpkt

from helan.security.traffic.detector import Packet

# Link types read: Ethernet, raw IP (two numbers in use), Linux cooked capture, BSD loopback.
_ETHERNET, _RAW, _RAW_OPENBSD, _LINUX_SLL, _NULL, _LOOP = 1, 101, 12, 113, 0, 108
LINK_TYPES = frozenset({_ETHERNET, _RAW, _RAW_OPENBSD, _LINUX_SLL, _NULL, _LOOP})


class PcapError(ValueError):
    """A file that is not a readable capture: not pcap/pcapng, unsupported link type, or cut
    short."""


class _Reads:
    """File wrapper remembering whether a read came back shorter than asked."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.asked_got: list[tuple[int, int]] = []

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if n > 0:
            self.asked_got.append((n, len(data)))
            del self.asked_got[:-1]
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.asked_got.clear()
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    @property
    def name(self) -> str:
        return str(getattr(self._raw, "name", "<capture>"))

    def short(self) -> bool:
        """Whether the last read (the body of the record just read) came back cut short."""
        return bool(self.asked_got) and self.asked_got[-1][1] < self.asked_got[-1][0]


def read_packets(path: Path) -> Iterator[Packet]:
    """Every packet of the capture at ``path``, in file order. Raises PcapError."""
    with path.open("rb") as raw:
        reads = _Reads(raw)
        try:
            reader = dpkt.pcap.UniversalReader(reads)
        except (ValueError, dpkt.NeedData, dpkt.UnpackError) as exc:
            raise PcapError(f"{path}: not a pcap or pcapng capture ({exc})") from None
        link = int(reader.datalink())
        if link not in LINK_TYPES:
            raise PcapError(
                f"{path}: unsupported link type {link} (Ethernet, raw IP, SLL, loopback)"
            )
        number = 0
        try:
            for ts, frame in reader:
                number += 1
                if reads.short():
                    raise PcapError(f"{path}: record {number} truncated (file cut short)")
                yield decode(float(ts), bytes(frame), link)
        except (dpkt.NeedData, dpkt.UnpackError, ValueError) as exc:
            if isinstance(exc, PcapError):
                raise
            raise PcapError(f"{path}: record {number + 1} unreadable ({exc})") from None


def decode(ts: float, frame: bytes, link: int = _ETHERNET) -> Packet:
    """One frame as a Packet; a frame dpkt cannot decode is ``proto='malformed'``."""
    try:
        if link == _ETHERNET:
            net: object = dpkt.ethernet.Ethernet(frame).data
        elif link == _LINUX_SLL:
            net = dpkt.sll.SLL(frame).data
        elif link in (_NULL, _LOOP):
            net = dpkt.loopback.Loopback(frame).data
        else:
            net = dpkt.ip.IP(frame) if frame[:1] and frame[0] >> 4 == 4 else dpkt.ip6.IP6(frame)
    except (dpkt.NeedData, dpkt.UnpackError):
        return Packet(ts, "", "", "malformed")
    if isinstance(net, dpkt.ip.IP):
        src, dst = (
            socket.inet_ntop(socket.AF_INET, net.src),
            socket.inet_ntop(socket.AF_INET, net.dst),
        )
    elif isinstance(net, dpkt.ip6.IP6):
        src, dst = (
            socket.inet_ntop(socket.AF_INET6, net.src),
            socket.inet_ntop(socket.AF_INET6, net.dst),
        )
    elif isinstance(net, dpkt.Packet):
        return Packet(ts, "", "", f"eth:{type(net).__name__.lower()}")
    else:
        return Packet(ts, "", "", "eth:other")
    seg = net.data
    if isinstance(seg, dpkt.tcp.TCP):
        syn = bool(seg.flags & dpkt.tcp.TH_SYN) and not seg.flags & dpkt.tcp.TH_ACK
        return Packet(ts, src, dst, "tcp", seg.sport, seg.dport, syn, bytes(seg.data))
    if isinstance(seg, dpkt.udp.UDP):
        return Packet(ts, src, dst, "udp", seg.sport, seg.dport, False, bytes(seg.data))
    if isinstance(seg, (dpkt.icmp.ICMP, dpkt.icmp6.ICMP6)):
        return Packet(ts, src, dst, "icmp")
    proto = net.p if isinstance(net, dpkt.ip.IP) else net.nxt
    return Packet(ts, src, dst, f"ip:{proto}")
