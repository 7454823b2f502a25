"""Flood one IPv4 datagram out of an interface as fast as the kernel takes it (root).

    python3 flooder.py IFNAME DST_MAC HEX_DATAGRAM [SECONDS]

Runs in whichever network namespace it is started in (``ip netns exec``). One AF_PACKET
socket, ``sendmmsg(2)`` of 1,024 copies per call through ctypes (the stdlib has no sendmmsg),
so one process sends some hundred thousand frames per second. Stops after SECONDS (default:
until SIGTERM/SIGINT) and prints ``{"sent": N, "seconds": S}`` as JSON on stdout.
"""

import ctypes
import json
import signal
import socket
import sys
import time

ETH_P_IP = 0x0800
BURST = 1024


class IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(IoVec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", MsgHdr), ("msg_len", ctypes.c_uint)]


class SockaddrLL(ctypes.Structure):
    _fields_ = [("sll_family", ctypes.c_ushort), ("sll_protocol", ctypes.c_ushort), ("sll_ifindex", ctypes.c_int),
                ("sll_hatype", ctypes.c_ushort), ("sll_pkttype", ctypes.c_ubyte), ("sll_halen", ctypes.c_ubyte),
                ("sll_addr", ctypes.c_ubyte * 8)]


def main(argv):
    ifname, mac, datagram = argv[0], bytes.fromhex(argv[1].replace(":", "")), bytes.fromhex(argv[2])
    seconds = float(argv[3]) if len(argv) > 3 else None
    libc = ctypes.CDLL(None, use_errno=True)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    address = SockaddrLL(socket.AF_PACKET, socket.htons(ETH_P_IP), socket.if_nametoindex(ifname), 0, 0, len(mac),
                         (ctypes.c_ubyte * 8)(*mac))
    buffer = ctypes.create_string_buffer(datagram, len(datagram))
    iov = IoVec(ctypes.cast(buffer, ctypes.c_void_p), len(datagram))
    messages = (MMsgHdr * BURST)()
    for message in messages:
        message.msg_hdr = MsgHdr(ctypes.cast(ctypes.pointer(address), ctypes.c_void_p), ctypes.sizeof(address),
                                 ctypes.pointer(iov), 1, None, 0, 0)
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(1))
    sent = 0
    start = time.monotonic()
    end = None if seconds is None else start + seconds
    while not stop and (end is None or time.monotonic() < end):
        count = libc.sendmmsg(sock.fileno(), messages, BURST, 0)
        if count > 0:
            sent += count
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
