"""RFC 3376 s.4.1.1 / s.4.1.7 floating-point encoding of Max Resp Code and QQIC.

    0 1 2 3 4 5 6 7
   +-+-+-+-+-+-+-+-+
   |1| exp | mant  |      value = (mant | 0x10) << (exp + 3)
   +-+-+-+-+-+-+-+-+

Codes below 128 are the value itself. The oracle for the encoder is scapy's own
implementation of the same field (scapy.layers.igmp, the IGMPv3 Max Resp Code).
"""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec

scapy_igmp = pytest.importorskip("scapy.layers.igmp", reason="scapy is the independent oracle")

ALL_CODES = range(256)


def rfc_value(code):
    """The RFC formula, written out independently of codec.decode_float_code."""
    if code < 0x80:
        return code
    exp = (code >> 4) & 0x7
    mant = code & 0xF
    return (mant | 0x10) << (exp + 3)


def scapy_encode(value):
    """scapy's encoder for an IGMPv3 query's Max Resp Code field."""
    query = scapy_igmp.IGMPv3_MQ()
    field = query.get_field("mrcode")
    return field.i2m(query, value)


def test_decode_matches_the_rfc_formula_for_all_256_codes():
    for code in ALL_CODES:
        assert codec.decode_float_code(code) == rfc_value(code), code


def test_every_code_round_trips():
    for code in ALL_CODES:
        value = codec.decode_float_code(code)
        assert codec.decode_float_code(codec.encode_float_code(value)) == value, code
        assert codec.encode_float_code(value) == code, code


def test_values_below_128_are_exact():
    for value in range(128):
        assert codec.encode_float_code(value) == value
        assert codec.decode_float_code(value) == value


def test_boundaries():
    assert codec.encode_float_code(127) == 0x7F
    assert codec.encode_float_code(128) == 0x80  # exp 0, mant 0 -> 16 << 3
    assert codec.decode_float_code(0x80) == 128
    assert codec.decode_float_code(0xFF) == 31744 == codec.MAX_FLOAT_CODE_VALUE
    assert codec.encode_float_code(31744) == 0xFF
    # The IGMPv3 max response that a 25.5 s IGMPv2 daemon would use: 255 tenths -> 248.
    assert codec.decode_float_code(codec.encode_float_code(255)) == 248


def test_encoding_rounds_down_to_the_nearest_representable_value():
    representable = sorted({rfc_value(c) for c in ALL_CODES})
    for value in range(codec.MAX_FLOAT_CODE_VALUE + 1):
        got = codec.decode_float_code(codec.encode_float_code(value))
        assert got <= value, value
        # the largest representable value not above ``value``
        below = [r for r in representable if r <= value][-1]
        assert got == below, value


def test_encoder_agrees_with_scapy_for_every_value():
    for value in range(codec.MAX_FLOAT_CODE_VALUE + 1):
        assert codec.encode_float_code(value) == scapy_encode(value), value


def test_encoder_is_monotonic():
    previous = -1
    for value in range(codec.MAX_FLOAT_CODE_VALUE + 1):
        decoded = codec.decode_float_code(codec.encode_float_code(value))
        assert decoded >= previous
        previous = decoded


@pytest.mark.parametrize("value", [-1, -128, codec.MAX_FLOAT_CODE_VALUE + 1, 40000, 1 << 20])
def test_out_of_range_values_are_refused(value):
    with pytest.raises(ValueError, match="outside 0..31744"):
        codec.encode_float_code(value)


def test_fractional_values_are_truncated_like_ints():
    assert codec.encode_float_code(100.9) == 100
    assert codec.encode_float_code(130.0) == codec.encode_float_code(130)


def test_query_encoders_use_the_float_code():
    # 20 s max response (200 tenths) and a 125 s QQI in an IGMPv3 query
    data = codec.encode_query_v3(200, 2, 125)
    assert data[1] == codec.encode_float_code(200)
    assert data[9] == 125
    data = codec.encode_query_v3(1000, 2, 1000)
    assert codec.decode_float_code(data[1]) == 992
    assert codec.decode_float_code(data[9]) == 992
    with pytest.raises(ValueError):
        codec.encode_query_v3(codec.MAX_FLOAT_CODE_VALUE + 1, 2, 125)
    with pytest.raises(ValueError):
        codec.encode_query_v3(100, 2, codec.MAX_FLOAT_CODE_VALUE + 1)
