"""tests/helpers.py: what the suites rely on when they wait or look for the collection."""

import os

import pytest

from tests.helpers import collections_root, wait_until, warnings_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Gone(Exception):
    pass


def test_wait_until_returns_the_first_true_value():
    answers = iter([None, 0, "ready"])
    assert wait_until(lambda: next(answers), timeout=5, what="ready", interval=0) == "ready"


def test_wait_until_raises_the_callers_error_naming_what_it_waited_for():
    with pytest.raises(Gone, match=r"^the querier: not within 0\.0 s$"):
        wait_until(lambda: False, timeout=0, what="the querier", error=Gone)
    with pytest.raises(AssertionError):
        wait_until(lambda: [], timeout=0)


def test_collections_root_holds_this_checkout():
    link = os.path.join(collections_root(), "ansible_collections", "multicast", "igmp")
    assert os.path.realpath(link) == os.path.realpath(REPO)


def test_warnings_of_reads_plain_and_structured_warnings():
    result = {"warnings": ["plain", {"event": {"msg": "structured"}}]}
    assert warnings_of(result) == ["plain", "structured"]
    assert warnings_of({}) == []


def test_the_helpers_are_fixtures_too(collections_root, warnings_of, wait_until):
    link = os.path.join(collections_root, "ansible_collections", "multicast", "igmp")
    assert os.path.realpath(link) == os.path.realpath(REPO)
    assert warnings_of({"warnings": ["w"]}) == ["w"]
    assert wait_until(lambda: "now", timeout=0) == "now"


def test_run_module_fixture_runs_a_module_main_in_this_process(run_module, warnings_of, tmp_path):
    from ansible_collections.multicast.igmp.plugins.modules import igmp_status  # pylint: disable=import-outside-toplevel

    rc, out = run_module(igmp_status.main, state_dir=str(tmp_path / "absent"))
    assert rc == 0 and out["changed"] is False and out["interfaces"] == {}
    assert out["msg"].startswith("no igmp-querier instance on this host")
    assert warnings_of(out) == []
