# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Stands in for netifaces when MULTICAST_IGMP_NO_NETIFACES=1 (tests/conftest.py puts this
directory first on the path): importing it fails as on a host without netifaces, so
netif.py takes its SIOCGIFADDR fallback."""

raise ImportError("netifaces is hidden for this test run (MULTICAST_IGMP_NO_NETIFACES=1)")
