"""Timers and the command line: defaults (RFC formulas), the seed's flags, and one-line errors.

Every invalid value must exit 2 with exactly one line on stderr that names the flag and the
allowed range, and nothing on stdout: the line is what a user sees in ``systemctl status``.
"""

import os
import subprocess
import sys

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import __version__, config
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Config, Timers

MODULE_UTILS = os.path.join(os.path.dirname(__file__), *[os.pardir] * 5, "plugins", "module_utils")


def parse(*argv):
    return config.parse_args(list(argv))


# --- defaults ---------------------------------------------------------------------------------

def test_defaults():
    cfg = parse("-i", "eth0")
    assert cfg == Config(interface="eth0", timers=Timers(), state_dir="/run/igmp-querier", verbose=False)
    t = cfg.timers
    assert (t.query_interval, t.max_response_time, t.robustness, t.igmp_version) == (60.0, 10.0, 2, 2)
    assert t.startup_count == 2  # = robustness
    assert t.startup_interval == 15.0  # = QI / 4
    assert t.other_querier_present_interval == 2 * 60.0 + 10.0 / 2 == 125.0
    assert t.group_membership_interval == 2 * 60.0 + 10.0
    assert t.max_response_tenths == 100
    assert t.last_member_query_interval == 1.0


@pytest.mark.parametrize("argv, timeout", [
    (["-q", "30"], 2 * 30 + 5.0),
    (["-q", "125"], 249.0),  # the RFC defaults give 255 s: capped at 260 - 10 - 1
    (["-q", "20", "-r", "4", "--robustness", "3"], 3 * 20 + 2.0),
    (["-q", "10", "-r", "0.5", "--robustness", "7"], 70.25),
    (["-q", "30", "-t", "120"], 120.0),  # explicit wins
])
def test_timeout_default_is_robustness_times_qi_plus_half_max_response(argv, timeout):
    assert parse("-i", "eth0", *argv).timers.other_querier_present_interval == timeout


def test_startup_defaults_follow_robustness_and_interval():
    t = parse("-i", "eth0", "-q", "40", "--robustness", "4").timers
    assert (t.startup_count, t.startup_interval) == (4, 10.0)
    t = parse("-i", "eth0", "-q", "40", "--startup-query-count", "1", "--startup-query-interval", "0.5").timers
    assert (t.startup_count, t.startup_interval) == (1, 0.5)


def test_all_flags():
    cfg = parse("--interface", "br0", "--query-interval", "20", "--timeout", "50", "--max-response-time", "2.5",
                "--robustness", "3", "--startup-query-count", "5", "--startup-query-interval", "4",
                "--igmp-version", "3", "--state-dir", "/tmp/s", "--verbose")
    assert cfg == Config("br0", Timers(20.0, 2.5, 3, 5, 4.0, 50.0, 3), "/tmp/s", True)
    assert cfg.timers.max_response_tenths == 25


def test_max_response_is_kept_in_tenths():
    assert parse("-i", "eth0", "-r", "0.3").timers.max_response_time == 0.3
    assert parse("-i", "eth0", "-r", "0.3").timers.max_response_tenths == 3
    assert parse("-i", "eth0", "-r", "25.5").timers.max_response_tenths == 255
    assert parse("-i", "eth0", "-q", "4000", "-r", "3174.4", "--igmp-version", "3",
                 "--snooping-timeout", "8000").timers.max_response_tenths == 31744


@pytest.mark.parametrize("qi, mrt", [(60, 10.0), (20, 10.0), (10, 5.0), (5, 2.5), (2, 1.0), (1, 0.5), (1.3, 0.6)])
def test_default_max_response_fits_short_query_intervals(qi, mrt):
    """10 s, or half the query interval when that is shorter: -q 10 and below work unaided."""
    assert parse("-i", "eth0", "-q", str(qi)).timers.max_response_time == mrt


@pytest.mark.parametrize("argv, cap", [
    ([], 249.0),
    (["-r", "2"], 257.0),
    (["--snooping-timeout", "125", "-q", "30"], 114.0),
])
def test_timeout_cap_is_snooping_timeout_minus_max_response_minus_1s(argv, cap):
    timers = parse("-i", "eth0", *argv).timers
    assert timers.timeout_cap == cap
    assert timers.other_querier_present_interval <= cap


def test_default_timeout_is_the_rfc_formula_capped_by_the_snooping_timeout():
    assert parse("-i", "eth0", "-q", "125").timers.other_querier_present_interval == 249.0
    assert parse("-i", "eth0", "-q", "125", "--snooping-timeout", "300").timers.other_querier_present_interval == 255.0
    assert parse("-i", "eth0", "-q", "30", "--snooping-timeout", "60").timers.other_querier_present_interval == 49.0


def test_explicit_timeout_up_to_the_cap_is_kept():
    assert parse("-i", "eth0", "-t", "249").timers.other_querier_present_interval == 249.0


# --- the seed's command lines keep working ------------------------------------------------------

@pytest.mark.parametrize("argv, interface, qi, timeout, verbose", [
    (["-i", "eth0"], "eth0", 60.0, 125.0, False),
    (["-i", "enp1s0", "-q", "30", "-t", "120"], "enp1s0", 30.0, 120.0, False),
    (["-i", "eth0", "-v"], "eth0", 60.0, 125.0, True),
    (["--interface", "br0", "--query-interval", "30", "--verbose"], "br0", 30.0, 65.0, True),
])
def test_seed_flags(argv, interface, qi, timeout, verbose):
    cfg = config.parse_args(argv)
    assert (cfg.interface, cfg.timers.query_interval, cfg.timers.other_querier_present_interval, cfg.verbose) == (
        interface, qi, timeout, verbose)


# --- one line per invalid value ----------------------------------------------------------------

INVALID = [
    # (argv, the flag named, the range named)
    (["-q", "0"], "--query-interval", "1..31744 seconds"),
    (["-q", "0.5"], "--query-interval", "1..31744 seconds"),
    (["-q", "40000"], "--query-interval", "1..31744 seconds"),
    (["-q", "nan"], "--query-interval", "1..31744 seconds"),
    (["-q", "inf"], "--query-interval", "1..31744 seconds"),
    (["-r", "0"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["-r", "-1"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["-r", "25.6"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["-r", "nan"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["-r", "inf"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["-r=-inf"], "--max-response-time", "0.1..25.5 seconds for IGMPv2"),
    (["--igmp-version", "3", "-q", "4000", "-r", "3174.5", "--snooping-timeout", "8000"], "--max-response-time",
     "0.1..3174.4 seconds for IGMPv3"),
    (["-r", "2.55"], "--max-response-time", "0.1 s resolution"),
    (["-q", "10", "-r", "10"], "--max-response-time", "less than --query-interval (10 s)"),
    (["--snooping-timeout", "0"], "--snooping-timeout", "greater than 0 and at most 8094720 seconds"),
    (["--snooping-timeout", "nan"], "--snooping-timeout", "greater than 0 and at most 8094720 seconds"),
    (["--snooping-timeout", "1e9"], "--snooping-timeout", "got 1000000000"),
    (["-q", "250"], "--snooping-timeout",
     "--query-interval (250 s) + --max-response-time (10 s) must be less than --snooping-timeout (260 s)"),
    (["-q", "30", "--snooping-timeout", "40"], "--snooping-timeout", "(30 s) + --max-response-time (10 s)"),
    (["-t", "250"], "--timeout", "at most --snooping-timeout - --max-response-time - 1 s = 249 s"),
    (["-t", "200", "--snooping-timeout", "120"], "--timeout", "= 109 s"),
    (["--robustness", "0"], "--robustness", "1..255"),
    (["--robustness", "256"], "--robustness", "1..255"),
    (["--startup-query-count", "0"], "--startup-query-count", "1..255"),
    (["--startup-query-count", "1000"], "--startup-query-count", "1..255"),
    (["--startup-query-interval", "0"], "--startup-query-interval", "0.1..60 seconds"),
    (["--startup-query-interval", "61"], "--startup-query-interval", "0.1..60 seconds"),
    (["--startup-query-interval", "nan"], "--startup-query-interval", "0.1..60 seconds"),
    (["-t", "60"], "--timeout", "greater than --query-interval (60 s)"),
    (["-q", "30", "-t", "20"], "--timeout", "greater than --query-interval (30 s)"),
    (["-t", "1e9"], "--timeout", "at most 8094720, got 1000000000"),
    (["-t", "nan"], "--timeout", "greater than --query-interval (60 s)"),
    (["-i", ""], "--interface", "1..15 characters"),
    (["-i", "a" * 16], "--interface", "1..15 characters"),
    (["-i", "eth0/1"], "--interface", "no '/'"),
    (["-i", " "], "--interface", "1..15 characters"),
    # argparse's own checks, also on one line
    (["-q", "abc"], "-q/--query-interval", "invalid float value"),
    (["--robustness", "2.5"], "--robustness", "invalid int value"),
    (["--igmp-version", "4"], "--igmp-version", "choose from 2, 3"),
    (["--bogus"], "--bogus", "unrecognized arguments"),
]


@pytest.mark.parametrize("extra, flag, allowed", INVALID, ids=[" ".join(c[0]) or "empty" for c in INVALID])
def test_invalid_value_exits_2_with_one_line(capsys, extra, flag, allowed):
    argv = ["-i", "eth0"] + extra if "-i" not in extra else extra
    with pytest.raises(SystemExit) as exc:
        config.parse_args(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("igmp-querier: error: ")
    assert flag in err and allowed in err, err
    assert "usage:" not in err and "Traceback" not in err


def test_missing_interface_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        config.parse_args(["-q", "30"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-i/--interface" in err and "required" in err


def test_validate_raises_usage_error():
    args = config.build_parser().parse_args(["-i", "eth0", "--robustness", "0"])
    with pytest.raises(config.UsageError, match=r"^--robustness must be 1\.\.255, got 0$"):
        config.validate(args)


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        config.parse_args(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == "igmp-querier %s\n" % __version__
    with pytest.raises(SystemExit) as exc:
        config.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    # Each option's line starts with its short flag (or its long one) and shows the long flag
    # followed by its argument; the rest of the layout differs between Python versions
    # ("-i INTERFACE, --interface INTERFACE" before 3.13, "-i, --interface INTERFACE" since).
    lines = [[word.rstrip(",") for word in line.split()] for line in out.splitlines()]
    for short, long, metavar in (("-i", "--interface", "INTERFACE"), ("-q", "--query-interval", "SECONDS"),
                                 ("-t", "--timeout", "SECONDS"), ("-r", "--max-response-time", "SECONDS"),
                                 (None, "--robustness", "N"), (None, "--startup-query-count", "N"),
                                 (None, "--startup-query-interval", "SECONDS"), (None, "--igmp-version", "{2,3}"),
                                 (None, "--state-dir", "DIR"), ("-v", "--verbose", None), (None, "--version", None)):
        words = next((words for words in lines if words and words[0] == (short or long)), None)
        assert words and long in words, "no help line for %s in:\n%s" % (long, out)
        if metavar:
            assert words[words.index(long) + 1:][:1] == [metavar], (long, metavar, words)


def test_the_entry_point_reports_a_bad_flag_in_one_line():
    """``python3 -m igmp_querier`` stops on the flag before touching the network."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(MODULE_UTILS))
    proc = subprocess.run([sys.executable, "-m", "igmp_querier.main", "-i", "eth0", "-q", "0"],
                          env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "igmp-querier: error: --query-interval must be 1..31744 seconds, got 0\n"
