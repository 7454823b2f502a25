"""The live state file: schema built from a real Querier, atomic replace, validation, discovery."""

import json
import os
import threading

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import Querier
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.state import StateError

T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)
WALL = 1700000000.0  # the wall clock at the snapshot; the monotonic clock reads 1003.0 then
ME = "192.168.1.5"
G1 = "239.1.1.1"


def message(payload):
    return codec.decode_igmp(payload)


def snapshot(q, now_mono=1003.0, **overrides):
    kwargs = dict(interface="eth0", address=ME, link="up", pid=4321, version="0.1.0",
                  started=WALL - 10.0, malformed=3, now_mono=now_mono, now_wall=WALL)
    kwargs.update(overrides)
    return state.build(q, **kwargs)


@pytest.fixture
def querier():
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1000.0)
    q.handle("192.168.1.7", message(codec.encode_report_v2(G1)), 1001.0)
    q.handle("192.168.1.9", message(codec.encode_query_v2(100)), 1002.0)  # higher: we win
    return q


def test_build_from_a_real_querier(querier):
    doc = snapshot(querier)
    assert state.validate(doc) is doc
    assert doc == {
        "schema": 2,
        "interface": "eth0",
        "address": ME,
        "link": "up",
        "role": "querier",
        "querier": ME,
        "igmp_version": 2,
        "queries_sent": 1,
        "queries_heard": 1,
        "last_query_sent": WALL - 3.0,  # monotonic times become wall-clock times
        "last_query_heard": WALL - 1.0,
        "last_query_heard_from": "192.168.1.9",
        "elections_won": 1,
        "elections_lost": 0,
        "takeovers": 0,
        "malformed_dropped": 3,
        "queries_ignored": 0,
        "groups_overflow": 0,
        "send_errors": 0,
        "role_changes": 0,
        "recent_role_changes": [],
        "versions_heard": {},
        "groups": [{"group": G1, "last_reporter": "192.168.1.7", "version": 2, "expires": WALL - 2.0 + 21.0}],
        "timers": {"query_interval": 10.0, "max_response_time": 1.0, "robustness": 2,
                   "startup_query_count": 2, "startup_query_interval": 2.5, "timeout": 20.5,
                   "snooping_timeout": 260.0},
        "effective": {"query_interval": 10.0, "robustness": 2, "timeout": 20.5},
        "updated": WALL,
        "started": WALL - 10.0,
        "pid": 4321,
        "version": "0.1.0",
    }
    assert state.group_names(doc) == [G1]


def test_build_of_a_non_querier_shows_the_elected_querier_and_adopted_timers(querier):
    querier.handle("192.168.1.2", message(codec.encode_query_v3(100, 3, 30)), 1003.0)
    doc = state.validate(snapshot(querier, now_mono=1004.0))
    assert (doc["role"], doc["querier"], doc["elections_lost"]) == ("non-querier", "192.168.1.2", 1)
    assert doc["effective"] == {"query_interval": 30.0, "robustness": 3, "timeout": 90.5}
    assert doc["timers"]["query_interval"] == 10.0
    assert (doc["role_changes"], doc["recent_role_changes"]) == (1, [WALL - 1.0])


def test_a_file_of_an_older_daemon_without_the_newer_counters_still_validates(querier):
    doc = snapshot(querier)
    for key in list(state.COUNTERS) + ["recent_role_changes"]:
        del doc[key]
    doc = state.validate(doc)
    assert all(doc[key] == 0 for key in state.COUNTERS) and doc["recent_role_changes"] == []


@pytest.mark.parametrize("key, value", [("queries_ignored", "7"), ("send_errors", True), ("role_changes", None),
                                        ("recent_role_changes", ["x"]), ("recent_role_changes", 3)])
def test_newer_counters_of_the_wrong_type_are_refused(querier, key, value):
    doc = snapshot(querier)
    doc[key] = value
    with pytest.raises(StateError, match=key):
        state.validate(doc)


def test_build_before_any_query_and_without_address():
    q = Querier(T, None)
    doc = state.validate(snapshot(q, address=None, link="down"))
    assert (doc["address"], doc["last_query_sent"], doc["last_query_heard"], doc["groups"]) == (None, None, None, [])


def test_write_read_round_trip(tmp_path, querier):
    doc = snapshot(querier)
    path = state.state_path(str(tmp_path), "eth0")
    assert path == str(tmp_path / "eth0.json")
    state.write(path, doc)
    assert state.read(path) == doc
    text = open(path).read()
    assert text.endswith("}\n")
    assert json.loads(text) == doc


def test_write_replaces_atomically_mode_0644_no_temp_files(tmp_path, querier):
    path = str(tmp_path / "eth0.json")
    old_umask = os.umask(0o077)
    try:
        state.write(path, snapshot(querier))
        before = os.stat(path)
        with open(path) as old_handle:
            querier.record_sent(1003.0)
            state.write(path, snapshot(querier))
            # a rename, not a rewrite: a reader of the old file still has the whole old document
            assert json.load(old_handle)["queries_sent"] == 1
        after = os.stat(path)
    finally:
        os.umask(old_umask)
    assert state.read(path)["queries_sent"] == 2
    assert before.st_ino != after.st_ino
    assert after.st_mode & 0o777 == 0o644  # whatever the daemon's umask
    assert os.listdir(str(tmp_path)) == ["eth0.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, querier):
    path = str(tmp_path / "eth0.json")
    state.write(path, snapshot(querier))
    with pytest.raises(TypeError):
        state.write(path, {"not json": object()})
    assert os.listdir(str(tmp_path)) == ["eth0.json"]
    assert state.read(path) == snapshot(querier)


def test_readers_never_see_a_partial_file(tmp_path, querier):
    path = str(tmp_path / "eth0.json")
    doc = snapshot(querier)
    doc["groups"] = [dict(doc["groups"][0], group="239.9.%d.%d" % (i // 256, i % 256)) for i in range(300)]
    state.write(path, doc)
    errors = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                state.read(path)
            except StateError as exc:  # pragma: no cover - the failure being tested for
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(80):
            doc["queries_sent"] = n
            state.write(path, doc)
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert os.listdir(str(tmp_path)) == ["eth0.json"]


# --- validation -----------------------------------------------------------------------------

def _broken(change):
    def make(doc):
        doc = json.loads(json.dumps(doc))
        change(doc)
        return doc
    return make


INVALID = [
    ("not an object", lambda doc: [doc], "state is not a JSON object"),
    ("other schema", _broken(lambda d: d.update(schema=3)), "state schema 3, expected 1 or 2"),
    ("schema true", _broken(lambda d: d.update(schema=True)), "state schema True, expected 1 or 2"),
    ("no schema", _broken(lambda d: d.pop("schema")), "state schema None, expected 1 or 2"),
    ("missing role", _broken(lambda d: d.pop("role")), "state has no 'role'"),
    ("missing pid", _broken(lambda d: d.pop("pid")), "state has no 'pid'"),
    ("counter as string", _broken(lambda d: d.update(queries_sent="3")), "state field 'queries_sent' has type str"),
    ("counter as bool", _broken(lambda d: d.update(takeovers=True)), "state field 'takeovers' has type bool"),
    ("address as int", _broken(lambda d: d.update(address=5)), "state field 'address' has type int"),
    ("updated null", _broken(lambda d: d.update(updated=None)), "state field 'updated' has type NoneType"),
    ("groups not a list", _broken(lambda d: d.update(groups={})), "state field 'groups' has type dict"),
    ("group without expiry", _broken(lambda d: d["groups"][0].pop("expires")),
     "lacks group, last_reporter, version, expires"),
    ("group not an object", _broken(lambda d: d["groups"].append("239.1.1.1")), "state group entry '239.1.1.1' lacks"),
    ("timers without timeout", _broken(lambda d: d["timers"].pop("timeout")), "state timers lack 'timeout'"),
]


@pytest.mark.parametrize("name, breaker, reason", INVALID, ids=[c[0] for c in INVALID])
def test_validation_errors(querier, name, breaker, reason):
    doc = breaker(snapshot(querier))
    with pytest.raises(StateError) as exc:
        state.validate(doc)
    assert reason in str(exc.value)


@pytest.mark.parametrize("content, reason", [
    (None, "No such file"),
    ("", "cannot read"),
    ('{"schema": 1,', "cannot read"),
    (b"\xff\xfe\x00garbage", "cannot read"),
    ("[]", "state is not a JSON object"),
    ('{"schema": 1}', "state has no"),
])
def test_read_errors(tmp_path, content, reason):
    path = str(tmp_path / "eth0.json")
    if isinstance(content, bytes):
        open(path, "wb").write(content)
    elif content is not None:
        open(path, "w").write(content)
    with pytest.raises(StateError) as exc:
        state.read(path)
    assert reason in str(exc.value)
    if content is None or content in ("", '{"schema": 1,'):
        assert path in str(exc.value)


# --- finding state files ------------------------------------------------------------------------

def test_discover_and_find_both_layouts(tmp_path, querier):
    d = str(tmp_path)
    doc = snapshot(querier)
    state.write(os.path.join(d, "eth0.json"), doc)  # <dir>/<if>.json
    os.mkdir(os.path.join(d, "br0"))
    state.write(os.path.join(d, "br0", "br0.json"), doc)  # <dir>/<if>/<if>.json (systemd RuntimeDirectory)
    # things that are not state files
    open(os.path.join(d, ".eth1.json.tmp1234"), "w").write("{")  # a writer's temp file
    state.write(os.path.join(d, ".eth2.json"), doc)  # hidden files are not state files
    open(os.path.join(d, "notes.txt"), "w").write("x")
    os.mkdir(os.path.join(d, "veth0"))
    open(os.path.join(d, "veth0", "other.json"), "w").write("{}")
    os.mkdir(os.path.join(d, "empty"))
    os.mkdir(os.path.join(d, "dir.json"))
    assert state.discover(d) == {"eth0": os.path.join(d, "eth0.json"), "br0": os.path.join(d, "br0", "br0.json")}
    assert state.find(d, "eth0") == os.path.join(d, "eth0.json")
    assert state.find(d, "br0") == os.path.join(d, "br0", "br0.json")
    assert state.find(d, "veth0") is None
    assert state.find(d, "eth9") is None
    for path in state.discover(d).values():
        assert state.read(path) == doc


def test_discover_and_find_agree_when_both_layouts_exist(tmp_path, querier):
    d = str(tmp_path)
    state.write(os.path.join(d, "eth0.json"), snapshot(querier))
    os.mkdir(os.path.join(d, "eth0"))
    state.write(os.path.join(d, "eth0", "eth0.json"), snapshot(querier))
    assert state.discover(d)["eth0"] == state.find(d, "eth0") == os.path.join(d, "eth0.json")


def test_discover_of_a_missing_directory_is_empty(tmp_path):
    assert state.discover(str(tmp_path / "nope")) == {}
    assert state.find(str(tmp_path / "nope"), "eth0") is None


# --- staleness ----------------------------------------------------------------------------------

def test_is_stale_after_three_query_intervals(querier):
    doc = snapshot(querier)  # updated = WALL, query interval 10 s
    assert not state.is_stale(doc, WALL)
    assert not state.is_stale(doc, WALL + 31.0)  # 3 x 10 + 1 s of slack
    assert state.is_stale(doc, WALL + 31.001)
    assert state.age(doc, WALL + 12.5) == 12.5
    assert state.age(doc, WALL - 5.0) == 0.0  # a clock step back is not a negative age


def test_is_stale_follows_the_adopted_interval(querier):
    querier.handle("192.168.1.2", message(codec.encode_query_v3(100, 2, 30)), 1003.0)
    doc = snapshot(querier)
    assert doc["effective"]["query_interval"] == 30.0
    assert not state.is_stale(doc, WALL + 91.0)
    assert state.is_stale(doc, WALL + 91.001)
    del doc["effective"]["query_interval"]  # an older writer: fall back to the configured interval
    assert state.is_stale(doc, WALL + 31.001)


# --- hostile state files: read() raises StateError and nothing else -----------------------------

def _file(tmp_path, text, name="eth0.json"):
    path = str(tmp_path / name)
    with open(path, "wb") as handle:
        handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _with_raw(doc, change, raw):
    """The JSON text of ``doc`` after ``change`` put the literal JSON text ``raw`` at one place."""
    doc = json.loads(json.dumps(doc))
    change(doc, "@@RAW@@")
    return json.dumps(doc).replace('"@@RAW@@"', raw)


def test_the_largest_legal_state_file_fits_well_under_the_cap(tmp_path):
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import groups as group_table
    q = Querier(T, "255.255.255.254")
    q.start(1000.0)
    for n in range(group_table.MAX_GROUPS):  # a full table of the longest dotted quads
        q.handle("255.255.%d.%d" % (100 + n // 150, 100 + n % 150),
                 codec.Report(2, "239.%d.%d.%d" % (100 + n // 22500, 100 + n // 150 % 150, 100 + n % 150)), 1000.5)
    for n in range(40):
        q.handle("255.255.255.%d" % (200 + n % 2), message(codec.encode_query_v2(100)), 1000.6 + n)
    doc = snapshot(q, interface="x" * 15, address="255.255.255.254", version="0.1.0.dev999+g0123456789ab",
                   now_mono=1040.0, now_wall=4102444800.123)
    for key in ("queries_sent", "queries_heard", "elections_won", "elections_lost", "takeovers",
                "malformed_dropped", "pid") + tuple(state.COUNTERS):
        doc[key] = 2 ** 63 - 1
    assert len(doc["groups"]) == group_table.MAX_GROUPS and len(doc["recent_role_changes"]) > 0
    path = str(tmp_path / "x.json")
    state.write(path, doc)
    size = os.path.getsize(path)
    assert 400000 < size < state.MAX_BYTES / 4  # measured 517,580 bytes; the cap is 2 MiB
    assert state.read(path, now_wall=4102444800.123) == doc


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_refused(tmp_path, querier):
    text = json.dumps(snapshot(querier))
    path = _file(tmp_path, text + " " * (state.MAX_BYTES - len(text)))
    assert state.read(path)["interface"] == "eth0"
    path = _file(tmp_path, text + " " * (state.MAX_BYTES + 1 - len(text)))
    with pytest.raises(StateError, match="larger than 2097152 bytes"):
        state.read(path)


def test_a_300_mb_file_is_refused_reading_only_the_cap(tmp_path):
    import tracemalloc
    path = str(tmp_path / "eth0.json")
    with open(path, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(StateError, match="larger than"):
            state.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * state.MAX_BYTES


def test_a_fifo_or_a_device_in_place_of_the_file_never_blocks(tmp_path):
    fifo = str(tmp_path / "eth0.json")
    os.mkfifo(fifo)
    outcome = []

    def reader():
        try:
            state.read(fifo)
        except StateError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # the failure being tested for: unblock it with a writer, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join()
        pytest.fail("state.read blocked on a FIFO")
    assert outcome == ["cannot read %s: not a regular file" % fifo]
    for path in ("/dev/zero", str(tmp_path)):
        with pytest.raises(StateError, match="not a regular file"):
            state.read(path)


@pytest.mark.parametrize("text, reason", [
    ("[" * 100000 + "]" * 100000, "cannot read"),
    ('{"schema": 1, "timers": ' + "[" * 100000 + "]" * 100000 + "}", "cannot read"),
    ('{"schema": 1, "x": ' + '{"a": ' * 50000 + "1" + "}" * 50001, "cannot read"),
    ('{"schema": ' + "[" * 900 + "]" * 900 + "}", "state schema a JSON array, expected 1 or 2"),
    ("3", "state is not a JSON object"),
    ('"eth0"', "state is not a JSON object"),
    ("null", "state is not a JSON object"),
    ('{"schema": NaN}', "NaN is not a number"),
    ('{"schema": 1' + "0" * 400 + "}", "integer of 401 digits"),
    (b'{"schema": 1, "interface": "eth\xff"}', "cannot read"),
    (b"\xef\xbb\xbf{}", "cannot read"),  # a UTF-8 byte order mark is not JSON
    ("", "cannot read"),
])
def test_hostile_content_is_a_state_error(tmp_path, text, reason):
    path = _file(tmp_path, text)
    with pytest.raises(StateError) as exc:
        state.read(path)
    assert reason in str(exc.value)
    assert len(str(exc.value)) < 400


def _group(key):
    return lambda d, v: d["groups"][0].__setitem__(key, v)


def _in(field, key):
    return lambda d, v: d[field].__setitem__(key, v)


def _top(key):
    return lambda d, v: d.__setitem__(key, v)


HOSTILE_VALUES = [
    ("group as int", _group("group"), "5", "'group' is 5, expected an IPv4 multicast address"),
    ("group as list", _group("group"), "[\"239.1.1.1\"]", "'group' is a JSON array, expected an IPv4 multicast address"),
    ("last_reporter as object", _group("last_reporter"), "{}", "'last_reporter' is a JSON object, expected an IPv4 address or null"),
    ("version as string", _group("version"), '"2"', "'version' is '2', expected 1, 2 or 3"),
    ("version as bool", _group("version"), "true", "'version' is True"),
    ("version 7", _group("version"), "7", "'version' is 7"),
    ("expires as string", _group("expires"), '"soon"', "'expires' is 'soon', expected a finite time or null"),
    ("expires as list", _group("expires"), "[1]", "'expires' is a JSON array"),
    ("expires NaN", _group("expires"), "NaN", "NaN is not a number"),
    ("expires 1e999", _group("expires"), "1e999", "1e999 is not a finite number"),
    ("expires a huge int", _group("expires"), "9" * 30, "integer of 30 digits"),
    ("group with a nested extra field", _group("sources"), "[[[[]]]]", "'sources' is a JSON array, expected a finite scalar"),
    ("timer as string", _in("timers", "query_interval"), '"10"', "state timers 'query_interval' is '10'"),
    ("timer null", _in("timers", "timeout"), "null", "state timers 'timeout' is None"),
    ("timer negative", _in("timers", "robustness"), "-2", "state timers 'robustness' is -2"),
    ("query interval 0", _in("timers", "query_interval"), "0", "state timers 'query_interval' is 0, not above 0"),
    ("timer Infinity", _in("timers", "max_response_time"), "Infinity", "Infinity is not a number"),
    ("timer nested extra", _in("timers", "extra"), "{\"a\": {}}", "state timers 'extra' is a JSON object, not a finite"),
    ("timer text extra", _in("timers", "extra"), '"\\u001b[2J"', "state timers 'extra' is '\\x1b[2J', not a finite"),
    ("effective text extra", _in("effective", "note"), '"x"', "state effective 'note' is 'x', not a finite"),
    ("effective as object", _in("effective", "timeout"), "{}", "state effective 'timeout' is a JSON object"),
    ("effective -Infinity", _in("effective", "robustness"), "-Infinity", "-Infinity is not a number"),
    ("effective bool", _in("effective", "query_interval"), "false", "state effective 'query_interval' is False"),
    ("effective unknown number 1e400", _in("effective", "later"), "1e400", "1e400 is not a finite number"),
    ("updated NaN", _top("updated"), "NaN", "NaN is not a number"),
    ("updated Infinity", _top("updated"), "Infinity", "Infinity is not a number"),
    ("updated as string", _top("updated"), '"now"', "state field 'updated' has type str"),
    ("last query sent NaN", _top("last_query_sent"), "NaN", "NaN is not a number"),
    ("pid of 25 digits", _top("pid"), "1" * 25, "integer of 25 digits"),
    ("recent role changes nested", _top("recent_role_changes"), "[[1]]", "recent_role_changes"),
    ("group not multicast", _group("group"), '"10.1.1.1"', "'group' is '10.1.1.1', expected an IPv4 multicast address"),
    ("group with an escape", _group("group"), '"239.1.1.1\\u001b[2J"', "'group' is '239.1.1.1\\x1b[2J', expected"),
    ("reporter as int", _group("last_reporter"), "5", "'last_reporter' is 5, expected an IPv4 address or null"),
    ("reporter not dotted", _group("last_reporter"), '"10.1"', "'last_reporter' is '10.1', expected an IPv4 address"),
    ("address with text", _top("address"), '"10.0.0.9 (trust me)"', "state field 'address' is '10.0.0.9 (trust me)', not an IPv4"),
    ("querier octet 256", _top("querier"), '"10.0.0.256"', "state field 'querier' is '10.0.0.256', not an IPv4"),
    ("heard from empty", _top("last_query_heard_from"), '""', "state field 'last_query_heard_from' is '', not an IPv4"),
    ("role unknown", _top("role"), '"boss"', "state field 'role' is 'boss', expected querier or non-querier"),
    ("link unknown", _top("link"), '"sideways"', "state field 'link' is 'sideways', expected up or down or absent"),
    ("interface with a newline", _top("interface"), '"eth0\\n"', "state field 'interface' is 'eth0\\n', not an interface name"),
    ("version with an escape", _top("version"), '"0.1\\u001b]0;x\\u0007"', "state field 'version' is '0.1\\x1b]0;x\\x07', not a version"),
    ("version empty", _top("version"), '""', "state field 'version' is '', not a version"),
]


@pytest.mark.parametrize("name, change, raw, reason", HOSTILE_VALUES, ids=[c[0] for c in HOSTILE_VALUES])
def test_hostile_values_in_a_file_are_a_state_error(tmp_path, querier, name, change, raw, reason):
    path = _file(tmp_path, _with_raw(snapshot(querier), change, raw))
    with pytest.raises(StateError) as exc:
        state.read(path)
    assert reason in str(exc.value)


@pytest.mark.parametrize("change, value", [
    (_top("updated"), float("nan")), (_top("updated"), float("inf")), (_top("started"), float("-inf")),
    (_top("last_query_heard"), float("nan")), (_top("queries_sent"), 10 ** 400),
    (_group("expires"), float("nan")), (_in("effective", "timeout"), float("inf")),
    (_in("timers", "timeout"), 10 ** 400),
], ids=["updated nan", "updated inf", "started -inf", "last_query_heard nan", "queries_sent 10**400",
        "expires nan", "effective timeout inf", "timers timeout 10**400"])
def test_validate_refuses_non_finite_numbers_in_a_document(querier, change, value):
    doc = snapshot(querier)
    change(doc, value)
    with pytest.raises(StateError, match="finite"):
        state.validate(doc)


def test_updated_in_the_future_is_invalid_beyond_the_clock_skew(tmp_path, querier):
    path = str(tmp_path / "eth0.json")
    state.write(path, snapshot(querier))  # updated = WALL
    assert state.read(path, now_wall=WALL - state.CLOCK_SKEW)["updated"] == WALL
    with pytest.raises(StateError, match=r"state 'updated' is 6 s in the future \(more than 5 s of clock skew\)"):
        state.read(path, now_wall=WALL - 6.0)
    with pytest.raises(StateError, match="in the future"):
        state.read(path, now_wall=WALL - 86400.0 * 365)
    assert state.read(path)["updated"] == WALL  # without a clock: the schema alone


def test_a_future_or_non_finite_updated_is_never_fresh(querier):
    doc = snapshot(querier)
    assert not state.is_stale(doc, WALL - state.CLOCK_SKEW)
    assert state.is_stale(doc, WALL - state.CLOCK_SKEW - 0.001)
    assert state.is_stale(doc, WALL - 86400.0)
    for value in (float("nan"), float("inf")):
        doc["updated"] = value
        assert state.is_stale(doc, WALL)


def test_discover_skips_names_that_are_no_interface(tmp_path, querier):
    d = str(tmp_path)
    doc = snapshot(querier)
    state.write(os.path.join(d, "eth0.json"), doc)
    for name in (b"\xff.json", b"a b.json", b"x" * 16 + b".json", b"tab\t.json", b"bell\x07.json", b"..json"):
        with open(os.path.join(d.encode(), name), "w") as handle:
            handle.write("{}")
    os.mkfifo(os.path.join(d, "eth1.json"))
    assert state.discover(d) == {"eth0": os.path.join(d, "eth0.json")}
    assert state.discover(d + "\0") == {}
    assert state.find(d, "eth0\0") is None


@pytest.mark.parametrize("name, ok", [
    ("eth0", True), ("br-lan", True), ("x" * 15, True), ("wlp0s20f3", True), ("vlan.10", True),
    ("", False), ("x" * 16, False), ("é" * 8, False), ("é" * 7, True), ("a/b", False), ("a b", False),
    ("eth0\0", False), ("eth\n", False), ("\x7f", False), (".", False), ("..", False), ("\udcff", False), (5, False),
])
def test_is_interface_name(name, ok):
    assert state.is_interface_name(name) is ok


def test_a_newer_daemons_extra_numbers_still_validate(tmp_path, querier):
    doc = snapshot(querier)
    doc["timers"]["snooping_timeout"] = 260
    doc["effective"].update(snooping_timeout=260.0, clamped=None)
    doc["groups"][0]["sources"] = 3
    doc["future_section"] = {"anything": [1, 2]}
    path = str(tmp_path / "eth0.json")
    state.write(path, doc)
    assert state.read(path, now_wall=WALL) == doc
