"""Join IPv4 and IPv6 multicast groups on one interface and stay joined until stopped.

Usage: igmp-member IFACE GROUP [GROUP...]

The kernel sends the membership reports: unsolicited ones on the join, then one per query.
"""

import signal
import socket
import struct
import sys


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: igmp-member IFACE GROUP [GROUP...]\n")
        return 2
    interface, groups = argv[1], argv[2:]
    index = socket.if_nametoindex(interface)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock6 = None
    for group in groups:
        if ":" in group:  # IPv6: the kernel's MLD reports it
            sock6 = sock6 or socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", index)
            sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        else:
            mreqn = struct.pack("=4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        print("joined %s on %s" % (group, interface), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
