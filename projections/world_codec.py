"""The compact, exact encoding of a :class:`core.world.World` used by world snapshots: msgpack, zlib level 1."""

from __future__ import annotations

import zlib

import msgspec

from core.world import World

__all__ = ["encode_world", "decode_world"]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(World)


def encode_world(world: World) -> bytes:
    return zlib.compress(_encoder.encode(world), 1)


def decode_world(blob: bytes) -> World:
    return _decoder.decode(zlib.decompress(blob))
