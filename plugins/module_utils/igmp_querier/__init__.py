# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""igmp_querier: an RFC 2236 / RFC 3376 IGMP querier.

Layout (sans-I/O core first, I/O at the edge):

- ``codec``     wire format: encode queries/reports, decode every IGMP message
- ``config``    timers and the command line
- ``groups``    the learned group membership table
- ``election``  the querier state machine (election, schedule, takeover)
- ``state``     the live state file schema (written by the daemon, read by igmp_status)
- ``health``    the health verdict of one instance (igmp_status, ``status``, metrics)
- ``metrics``   the Prometheus textfile rendered from the state document
- ``netif``     interface facts (exists, up, primary IPv4 address)
- ``sockets``   raw IGMP send socket, AF_PACKET receive socket, rtnetlink monitor
- ``daemon``    the event loop that ties them together
- ``status``    ``igmp-querier status``: the instances on this host and their health
- ``_systemd``  PRIVATE: the querier units' names and systemctl output (status, igmp_status, the role)
- ``main``      the entry point (``python3 -m igmp_querier.main``; the role adds
  ``__main__.py`` on hosts so that ``python3 -m igmp_querier`` works there)
"""

__version__ = "0.2.0"
