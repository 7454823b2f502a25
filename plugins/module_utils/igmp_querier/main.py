# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The IGMP querier daemon's entry point, :func:`main`.

On hosts the ``querier`` role adds a two-line ``__main__.py`` (roles/querier/files/) so that
``python3 -m igmp_querier`` runs it; from a checkout run ``python3 -m igmp_querier.main``
with ``plugins/module_utils`` on ``PYTHONPATH``. (Collections may not ship module_utils
named ``__main__``.) ``igmp-querier status [IFACE] [--json]`` runs :mod:`status` instead.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional, Sequence

from . import status
from .config import parse_args
from .daemon import CAP_MESSAGE, EXIT_CONFIG, EXIT_NOPERM, ConfigurationError, Daemon, banner

PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<N>message``: journald reads the syslog priority prefix and adds its own timestamp."""

    def format(self, record: logging.LogRecord) -> str:
        return "<%d>%s" % (PRIORITIES.get(record.levelno, 6), super().format(record))


def setup_logging(verbose: bool, interface: str = "") -> None:
    # Every line names the interface: two instances on one host share one journal identifier.
    prefix = interface.replace("%", "%%") + ": " if interface else ""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter(prefix + "%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s " + prefix + "%(message)s"))
    root = logging.getLogger("igmp_querier")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["status"]:  # the on-host status command, not the daemon
        return status.main(args[1:])
    config = parse_args(args)  # exits 2 with one line on a bad flag
    setup_logging(config.verbose, config.interface)
    log = logging.getLogger("igmp_querier")
    daemon = Daemon(config)
    daemon.install_signals()
    try:
        daemon.preflight()
    except ConfigurationError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except PermissionError:
        log.error("%s", CAP_MESSAGE)
        return EXIT_NOPERM
    banner(daemon)
    try:
        return daemon.run()
    except PermissionError:
        log.error("%s", CAP_MESSAGE)
        return EXIT_NOPERM
    except OSError as exc:  # e.g. no descriptors or memory left for a socket: one line, no traceback
        log.error("Stopping on %s: %s", config.interface, exc)
        return EXIT_CONFIG


if __name__ == "__main__":
    raise SystemExit(main())
