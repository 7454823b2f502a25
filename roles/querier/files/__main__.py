# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""``python3 -m igmp_querier``: installed into the daemon's package on hosts by the querier role."""

from .main import main

raise SystemExit(main())
