"""Request input bounded where it enters (realtime/inputs.py) and client errors mapped to 4xx naming op and field
(realtime/errors.py), without a server."""

from __future__ import annotations

import json
from types import SimpleNamespace

import msgspec
import pytest

from events.envelope import Command
from realtime.errors import BadRequest, Invalid, NotFound, error_body
from realtime.inputs import MAX_DEPTH, MAX_NUMBER, decode_body, guard

KEY = {"type": "key.set", "id": "box", "path": "transform.position", "frame": 1, "value": [0, 0, 0]}


def body(*ops, **extra) -> bytes:
    return json.dumps({"command_id": "c1", "ops": list(ops), **extra}).encode()


def refused(raw: bytes) -> dict:
    with pytest.raises((Invalid, BadRequest)) as e:
        decode_body(raw, Command)
    return error_body(e.value)


def test_a_good_command_decodes():
    cmd = decode_body(body(KEY, {**KEY, "frame": MAX_NUMBER, "value": [-MAX_NUMBER, 0.5, -0.0]}), Command)
    assert len(cmd.ops) == 2 and cmd.ops[1].frame == MAX_NUMBER


@pytest.mark.parametrize("op, field", [
    ({**KEY, "colour": 1}, "colour"),
    ({k: v for k, v in KEY.items() if k != "frame"}, "frame"),
    ({k: v for k, v in KEY.items() if k != "type"}, "type"),
    ({**KEY, "type": "key.explode"}, "type"),
    ({**KEY, "frame": "zero"}, "frame"),
    ({**KEY, "interp": "cubic"}, "interp"),
    (7, "type"),
    ([KEY], "type"),
    ({"type": "shot.configure", "resolution": [1, "a"]}, "resolution"),
    ({"type": "shot.configure", "agents": {"layout": "maybe"}}, "agents"),
])
def test_a_wrong_shape_names_the_op_and_the_field(op, field):
    b = refused(body(KEY, op))
    assert (b["status_code"], b["op"], b["field"]) == (422, 1, field), b


@pytest.mark.parametrize("raw, field", [
    (b'{"ops": []}', "command_id"),
    (b'{"command_id": "c", "ops": 7}', "ops"),
    (b'{"command_id": "c", "ops": [], "extra": 1}', "extra"),
    (body(KEY, expected_seq=2 ** 60), "expected_seq"),
    (body(KEY, reason="x" * 10).replace(b'"xxxxxxxxxx"', b"[" * 100 + b"]" * 100), "reason"),
])
def test_a_wrong_envelope_names_the_field(raw, field):
    b = refused(raw)
    assert (b["status_code"], b["field"]) == (422, field) and "op" not in b, b


@pytest.mark.parametrize("levels", [MAX_DEPTH, 500, 100_000])
def test_deep_nesting_is_refused_naming_the_op(levels):
    raw = body(KEY, {"type": "directive.add", "id": "d", "agent": "layout", "params": {"p": 0}})
    raw = raw.replace(b'"p": 0', b'"p": ' + b"[" * levels + b"1" + b"]" * levels)
    b = refused(raw)
    assert (b["status_code"], b["op"], b["field"]) == (422, 1, "params"), b
    assert "nested more than" in b["reason"]


@pytest.mark.parametrize("number", [b"9" * 400, b"-" + b"9" * 400, b"1e300", b"-1e300", str(MAX_NUMBER + 2).encode()])
@pytest.mark.parametrize("where", ["frame", "value", "params"])
def test_a_number_out_of_range_is_refused_naming_the_op(number, where):
    if where == "params":
        op = {"type": "directive.add", "id": "d", "agent": "layout", "params": {"n": "N"}}
    else:
        op = {**KEY, where: "N" if where == "frame" else [0, "N", 0]}
    b = refused(body(op).replace(b'"N"', number))
    assert (b["status_code"], b["op"], b["field"]) == (422, 0, where), b


@pytest.mark.parametrize("raw", [b"", b"  ", b"{", b"nul", b"\xff\xfe", b'{"command_id": "\\ud800", "ops": []}',
                                 body({**KEY, "frame": "N"}).replace(b'"N"', b"NaN"),
                                 body({**KEY, "value": [0, "N", 0]}).replace(b'"N"', b"-Infinity")])
def test_what_is_not_json_is_a_400(raw):
    assert refused(raw)["status_code"] == 400


def test_msgspec_errors_anywhere_map_to_4xx_with_the_field():
    try:
        msgspec.convert({"command_id": "c", "ops": [{**KEY, "frame": "x"}]}, Command)
    except msgspec.ValidationError as e:
        assert {k: error_body(e)[k] for k in ("status_code", "op", "field")} == {"status_code": 422, "op": 0,
                                                                                "field": "frame"}
    try:
        msgspec.json.decode(b"{")
    except msgspec.DecodeError as e:
        assert error_body(e)["status_code"] == 400


def connection(path=None, query=None):
    return SimpleNamespace(scope={"type": "http"}, path_params=path or {}, query_params=query or {})


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "a\nb", "\u202e", "x" * 257, ">", "..", "s1\n", "é", "x" * 65])
async def test_a_path_parameter_no_id_can_be_is_a_404_before_any_store(value):
    with pytest.raises(NotFound) as e:
        await guard(connection(path={"project": "p1", "shot": value}))
    assert e.value.field == "shot"


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999", "9" * 5000,
                                   str(MAX_NUMBER + 1), " 0000" + "9" * 30])
async def test_an_integer_query_out_of_range_is_a_400(value):
    with pytest.raises(BadRequest) as e:
        await guard(connection(query={"after": value}))
    assert e.value.field == "after"


@pytest.mark.parametrize("value", ["\x00", "a\x00", "\r\n"])
async def test_a_query_value_with_a_control_character_is_a_400(value):
    with pytest.raises(BadRequest) as e:
        await guard(connection(query={"actor": value}))
    assert e.value.field == "actor"


@pytest.mark.parametrize("value", ["1", "-1", str(MAX_NUMBER), "0" * 40 + "1", "abc", "1e300", "", "é漢字"])
async def test_ordinary_route_values_pass_the_guard(value):
    await guard(connection(path={"project": "p1", "shot": "s.1-x_2", "member": "é漢字 x"}, query={"after": value}))
