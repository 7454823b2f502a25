"""probe: the probe datagram format and the receiver's statistics (igmp_probe)."""

import json
import math
import struct

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils import probe


def test_header_layout_is_the_documented_one():
    data = probe.encode("run-42", 7, 300, 1767225600.25, 64)
    assert len(data) == 64 and probe.HEADER_SIZE == 56
    magic, version, id_len, flags, seq, total, sent = struct.unpack_from("!4sBBHIId", data)
    assert (magic, version, id_len, flags, seq, total, sent) == (b"mIGp", 1, 6, 0, 7, 300, 1767225600.25)
    assert data[24:30] == b"run-42" and data[30:] == b"\x00" * 34


@pytest.mark.parametrize("size", [probe.HEADER_SIZE, 64, 1472, probe.MAX_PAYLOAD_SIZE])
def test_round_trip_at_every_size(size):
    data = probe.encode("a" * probe.ID_FIELD, probe.MAX_TOTAL - 1, probe.MAX_TOTAL, 12.5, size)
    assert len(data) == size
    assert probe.decode(data) == probe.Probe("a" * probe.ID_FIELD, probe.MAX_TOTAL - 1, probe.MAX_TOTAL, 12.5, size)


@pytest.mark.parametrize("probe_id", ["", "a b", "x" * 33, "caf\u00e9", "a/b", None])
def test_bad_probe_ids_are_refused(probe_id):
    assert not probe.valid_probe_id(probe_id)
    with pytest.raises(probe.ProbeError, match="probe id"):
        probe.encode(probe_id, 0, 1, 0.0)


@pytest.mark.parametrize("sequence, total, size, what", [
    (-1, 1, 64, "sequence"), (probe.MAX_SEQUENCE + 1, 1, 64, "sequence"), (0, -1, 64, "total"),
    (0, 1, probe.HEADER_SIZE - 1, "payload size"), (0, 1, probe.MAX_PAYLOAD_SIZE + 1, "payload size"),
])
def test_out_of_range_fields_are_refused(sequence, total, size, what):
    with pytest.raises(probe.ProbeError, match=what):
        probe.encode("id", sequence, total, 0.0, size)


def _mutate(offset, value):
    data = bytearray(probe.encode("abc", 1, 2, 3.0))
    data[offset] = value
    return bytes(data)


@pytest.mark.parametrize("data", [
    b"",
    b"mIGp",
    probe.encode("abc", 1, 2, 3.0)[:probe.HEADER_SIZE - 1],  # truncated header
    b"XIGp" + probe.encode("abc", 1, 2, 3.0)[4:],  # wrong magic
    _mutate(4, 2),  # unknown format version
    _mutate(5, 0),  # id length 0
    _mutate(5, 33),  # id length beyond the field
    _mutate(5, 2),  # id length shorter than the id: non-zero octets after it
    _mutate(24, 0x20),  # a space in the id
    _mutate(24, 0xC3),  # not ASCII
    probe.encode("abc", 1, 2, 3.0)[:16] + struct.pack("!d", math.nan) + probe.encode("abc", 1, 2, 3.0)[24:],
    b"hello world, not a probe" * 4,
])
def test_foreign_datagrams_decode_to_none(data):
    assert probe.decode(data) is None


def feed(stats, items, source="10.0.0.9", probe_id="p", total=10):
    for index, sequence in enumerate(items):
        stats.add(probe.encode(probe_id, sequence, total, 100.0 + sequence), source, 100.5 + index)


def test_loss_duplicates_and_reordering():
    stats = probe.ReceiveStats()
    feed(stats, [0, 1, 3, 2, 3, 5, 9])
    summary = stats.summary(count=10)
    assert summary["received"] == 6  # 0 1 2 3 5 9
    assert summary["duplicated"] == 1  # the second 3
    assert summary["reordered"] == 1  # 2 after 3
    assert summary["expected"] == 10 and summary["lost"] == 4 and summary["loss_percent"] == 40.0
    assert summary["first_arrival"] == 100.5 and summary["last_arrival"] == 106.5
    assert summary["probe_ids"] == ["p"] and summary["sources"] == ["10.0.0.9"]
    assert summary["foreign"] == 0 and summary["other_probes"] == 0


def test_expected_comes_from_the_senders_when_count_is_not_given():
    stats = probe.ReceiveStats()
    feed(stats, [0, 1, 2], probe_id="one", total=5)
    feed(stats, [0, 1], probe_id="two", total=4, source="10.0.0.100")
    summary = stats.summary()
    assert summary["expected"] == 9 and summary["received"] == 5 and summary["lost"] == 4
    assert summary["loss_percent"] == pytest.approx(44.44)
    assert summary["probe_ids"] == ["one", "two"]
    assert summary["sources"] == ["10.0.0.9", "10.0.0.100"]  # numeric order, not text order


def test_nothing_heard_without_count_has_no_loss_figure():
    summary = probe.ReceiveStats().summary()
    assert (summary["expected"], summary["lost"], summary["loss_percent"]) == (0, 0, None)
    assert summary["first_arrival"] is None and summary["delay"] is None


def test_nothing_heard_with_count_is_total_loss():
    summary = probe.ReceiveStats().summary(count=25)
    assert (summary["received"], summary["lost"], summary["loss_percent"]) == (0, 25, 100.0)


def test_probe_id_filter_counts_other_probes_apart():
    stats = probe.ReceiveStats(probe_id="mine")
    feed(stats, [0, 1], probe_id="mine", total=2)
    feed(stats, [0, 1, 2], probe_id="theirs", total=3)
    stats.add(b"not a probe at all", "10.0.0.50", 200.0)
    summary = stats.summary()
    assert summary["received"] == 2 and summary["expected"] == 2 and summary["lost"] == 0
    assert summary["other_probes"] == 3 and summary["foreign"] == 1
    assert summary["probe_ids"] == ["mine"]


def test_received_more_than_count_is_not_negative_loss():
    stats = probe.ReceiveStats()
    feed(stats, range(12), total=12)
    assert stats.summary(count=10)["lost"] == 0


def test_delay_uses_the_senders_timestamp():
    stats = probe.ReceiveStats()
    stats.add(probe.encode("d", 0, 2, 50.0), "10.0.0.9", 50.25)
    stats.add(probe.encode("d", 1, 2, 51.0), "10.0.0.9", 51.75)
    assert stats.summary()["delay"] == {"min": 0.25, "mean": 0.5, "max": 0.75}


def _with_sent(sent):
    data = probe.encode("abc", 1, 10, 3.0)
    return data[:16] + struct.pack("!d", sent) + data[24:]


@pytest.mark.parametrize("sent", [math.inf, -math.inf, -1.0, probe.MAX_SENT_TIME * 2, 1.7e308])
def test_a_send_time_that_no_clock_shows_is_not_a_probe(sent):
    assert probe.decode(_with_sent(sent)) is None


def test_delay_figures_stay_finite_whatever_the_probes_claim():
    stats = probe.ReceiveStats()
    for n, sent in enumerate([0.0, probe.MAX_SENT_TIME, 1767225600.0, math.inf, 1.7e308, -1e308]):
        stats.add(_with_sent(sent)[:8] + struct.pack("!I", n) + _with_sent(sent)[12:], "10.0.0.9", 1767225600.5)
    summary = stats.summary()
    assert summary["received"] == 3 and summary["foreign"] == 3
    json.dumps(summary, allow_nan=False)
    assert summary["delay"]["max"] == 1767225600.5 and summary["delay"]["min"] == 1767225600.5 - probe.MAX_SENT_TIME


@pytest.mark.parametrize("sequence, total", [(5, 5), (9, 3), (0, 0), (0, probe.MAX_TOTAL + 1),
                                             (probe.MAX_SEQUENCE, probe.MAX_SEQUENCE)])
def test_a_sequence_outside_its_announced_total_is_not_a_probe(sequence, total):
    assert probe.decode(probe.encode("abc", sequence, total, 3.0)) is None


def test_what_a_receiver_keeps_is_bounded_whatever_the_datagrams_claim():
    import tracemalloc
    stats = probe.ReceiveStats()
    tracemalloc.start()
    try:
        for n in range(20000):  # every datagram a new id, a new source and a high sequence number
            stats.add(probe.encode("id%d" % n, probe.MAX_TOTAL - 1 - n, probe.MAX_TOTAL, 10.0),
                      "10.%d.%d.%d" % (n >> 16, (n >> 8) & 255, n & 255), 11.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    summary = stats.summary()
    assert summary["received"] == probe.MAX_PROBE_IDS and summary["other_probes"] == 20000 - probe.MAX_PROBE_IDS
    assert len(summary["probe_ids"]) == probe.MAX_PROBE_IDS and len(summary["sources"]) == probe.MAX_SOURCES
    assert peak < 2 * 1024 * 1024  # 64 bitmaps of 12.5 kB, not 20,000 ids


def test_duplicates_and_reordering_with_the_bitmap_at_its_edges():
    stats = probe.ReceiveStats()
    last = probe.MAX_TOTAL - 1
    for sequence in (last, 0, last, 7, 8, 0):
        stats.add(probe.encode("edge", sequence, probe.MAX_TOTAL, 10.0), "10.0.0.9", 11.0)
    summary = stats.summary()
    assert (summary["received"], summary["duplicated"], summary["reordered"]) == (4, 2, 3)
    assert summary["expected"] == probe.MAX_TOTAL and summary["lost"] == probe.MAX_TOTAL - 4
