"""The global budget of wire-driven log lines: the limiter alone (fake clock), then the daemon
under a flood of queries from thousands of sources with -v logging."""

import logging

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, netif
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.config import parse_args
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.daemon import Daemon
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.ratelimit import (
    BUDGET,
    DEBUG_BUDGET,
    WINDOW,
    LogLimiter,
)


def written_times(limiter, times, debug=False):
    return [t for t in times if limiter.admit(t, debug=debug) is not None]


def most_in_any_window(times, window=WINDOW):
    """The largest number of ``times`` (sorted) inside any half-open window of ``window`` s."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_budget_at_one_instant_then_nothing():
    limiter = LogLimiter()
    assert [limiter.admit(5.0) for _line in range(BUDGET)] == [0] * BUDGET
    assert limiter.admit(5.0) is None
    assert limiter.admit(5.0 + WINDOW - 0.001) is None
    assert limiter.suppressed == 2


def test_steady_flood_never_exceeds_the_budget_in_any_window():
    limiter = LogLimiter()
    flood = [i / 1000.0 for i in range(60000)]  # 1000 lines/s for 60 s
    written = written_times(limiter, flood)
    assert most_in_any_window(written) == BUDGET
    assert len(written) <= BUDGET * (60 / WINDOW + 1)
    assert limiter.suppressed_total == len(flood) - len(written)


def test_the_next_line_written_says_how_many_were_suppressed():
    limiter = LogLimiter()
    for _line in range(BUDGET + 7):
        limiter.admit(100.0)
    assert limiter.admit(100.0 + WINDOW) == 7
    assert limiter.admit(100.0 + WINDOW) == 0  # the count was reported once
    assert limiter.suppressed_total == 7


def test_debug_lines_cannot_crowd_out_warnings():
    limiter = LogLimiter()
    debug = written_times(limiter, [1.0 + i / 100.0 for i in range(500)], debug=True)
    assert len(debug) == DEBUG_BUDGET
    warnings = written_times(limiter, [7.0] * 50)
    assert len(warnings) == BUDGET - DEBUG_BUDGET
    assert limiter.admit(7.0) is None  # the total budget holds for every level


def test_quiet_for_a_window_restores_the_full_budget():
    limiter = LogLimiter()
    assert len(written_times(limiter, [0.0] * 100)) == BUDGET
    assert len(written_times(limiter, [WINDOW] * 100)) == BUDGET


@pytest.mark.parametrize("kwargs", [dict(budget=0), dict(debug_budget=0), dict(budget=5, debug_budget=6),
                                    dict(window=0.0)])
def test_nonsense_budgets_are_refused(kwargs):
    with pytest.raises(ValueError):
        LogLimiter(**kwargs)


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_daemon_under_a_flood_of_queries_from_many_sources_logs_within_the_budget(tmp_path, caplog):
    """5,000 IGMPv1 queries from 5,000 distinct lower sources in 5 s: each would log a
    mixed-version warning (and, with -v, a debug line); the role change is logged, the total stays
    within the budget, and the first line after the flood says how many were held back."""
    clock = FakeClock()
    config = parse_args(["-i", "eth0", "--state-dir", str(tmp_path), "-v"])
    daemon = Daemon(config, clock=clock, wall=lambda: 1.7e9 + clock.now)
    daemon.link = netif.LinkState(True, True, 2, "10.9.255.254")
    caplog.set_level(logging.DEBUG, logger="igmp_querier")
    daemon._apply(daemon.querier.start(clock.now, "10.9.255.254"), clock.now)
    caplog.clear()
    query = codec.decode_igmp(codec.encode_query_v1())  # we run IGMPv2: each source mixes versions
    for i in range(5000):
        clock.now = 1000.0 + i / 1000.0
        n = i + 1
        source = "10.%d.%d.%d" % (n >> 16, (n >> 8) & 255, n & 255)  # 10.0.0.1 ... 10.0.19.136
        daemon._apply(daemon.querier.handle(source, query, clock.now), clock.now)
    lines = [(r.created, r.getMessage()) for r in caplog.records if r.name == "igmp_querier"]
    flood_lines = len(lines)
    assert any(m.startswith("LOST to 10.0.0.1") for _t, m in lines)
    assert sum("LAN mixes IGMP versions" in m for _t, m in lines) >= 1
    assert flood_lines <= BUDGET, "%d lines in 5 s" % flood_lines
    assert daemon.log_limit.suppressed > 1000

    clock.now += WINDOW
    daemon._apply(daemon.querier.handle("10.200.0.1", query, clock.now), clock.now)
    after = [r.getMessage() for r in caplog.records if r.name == "igmp_querier"][flood_lines:]
    assert after and after[0].endswith("[%d log lines suppressed]" % daemon.log_limit.suppressed_total)
