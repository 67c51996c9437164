"""Python driver of the register map: the same write sequence as the C function in
``NAME_params.h``, over any bus with 32-bit ``write``/``read`` coroutines.

``RegmapDriver(bus, regmap)``: ``bus.write32(addr, value) -> resp`` and
``bus.read32(addr) -> (value, resp)`` (async). :class:`AxiLiteBus32` adapts cocotbext-axi's
``AxiLiteMaster``; :func:`program_sequence` is the expected list of writes (for the C test).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import MAGIC, VERSION, RegisterMap

__all__ = ["RegmapDriver", "AxiLiteBus32", "RegmapError", "LayerImage", "program_sequence"]

OKAY = 0


class RegmapError(RuntimeError):
    """The unit answered SLVERR, or its ID/geometry is not what the driver was built for."""


@dataclass(frozen=True)
class LayerImage:
    """One layer's parameters at its channel addresses ``base .. base + len(M) - 1``; a
    shared unit's layer also has its table row (``index``, clip ``qmin``..``qmax``)."""

    name: str
    base: int
    M: tuple[int, ...]
    B: tuple[int, ...]
    N: tuple[int, ...]
    index: int | None = None
    qmin: int | None = None
    qmax: int | None = None


def program_sequence(regmap: RegisterMap, layer: LayerImage) -> list[tuple[int, int]]:
    """Every (offset, value) write that programs ``layer``, in order: each channel, then
    (a map with a layer table) the layer's clip."""
    out = []
    for k, (m, b, n) in enumerate(zip(layer.M, layer.B, layer.N, strict=True)):
        out += regmap.channel_writes(layer.base + k, m, b, n)
    if regmap.layers and layer.index is not None:
        out += regmap.table_writes(layer.index, layer.qmin, layer.qmax)
    return out


class AxiLiteBus32:
    """32-bit accesses on a cocotbext-axi ``AxiLiteMaster`` (``base`` added to offsets)."""

    def __init__(self, master, base: int = 0):
        self.master, self.base = master, base

    async def write32(self, addr: int, value: int) -> int:
        r = await self.master.write(self.base + addr, int(value).to_bytes(4, "little"))
        return int(r.resp)

    async def read32(self, addr: int) -> tuple[int, int]:
        r = await self.master.read(self.base + addr, 4)
        return int.from_bytes(bytes(r.data), "little"), int(r.resp)


class RegmapDriver:
    """Program channels and layers through the register map (raises RegmapError on SLVERR)."""

    def __init__(self, bus, regmap: RegisterMap):
        self.bus, self.regmap = bus, regmap

    async def read(self, name: str) -> int:
        v, resp = await self.bus.read32(self.regmap.offset(name))
        if resp != OKAY:
            raise RegmapError(f"read of {name} answered {resp:#x}")
        return v

    async def write(self, offset: int, value: int) -> None:
        resp = await self.bus.write32(offset, value)
        if resp != OKAY:
            raise RegmapError(f"write of {value:#x} to offset {offset:#x} answered {resp:#x}")

    async def check_id(self) -> None:
        """The unit is the one this map describes (magic, major version, geometry)."""
        rm = self.regmap
        for name, want in (("ID", MAGIC), ("CHANNELS", rm["CHANNELS"].value),
                           ("GEOMETRY", rm["GEOMETRY"].value), ("WIDTHS", rm["WIDTHS"].value)):
            got = await self.read(name)
            if got != want:
                raise RegmapError(f"{name} reads {got:#x}, expected {want:#x}")
        if (await self.read("VERSION")) >> 8 != VERSION[0]:
            raise RegmapError("register-map major version differs")

    async def program_channel(self, channel: int, m: int, b: int, n: int) -> None:
        """Stage and commit one channel; returns after the write response, so every beat
        the unit accepts from now on uses the new words."""
        for off, v in self.regmap.channel_writes(channel, m, b, n):
            await self.write(off, v)

    async def program_slot(self, channel: int, index: int, value: int) -> None:
        """Threshold unit: write one slot (or, at index = slots, the direction bit) of one
        channel; returns after the write response (every later beat uses the new word)."""
        for off, v in self.regmap.slot_writes(channel, index, value):
            await self.write(off, v)

    async def program_clip(self, index: int, qmin: int, qmax: int) -> None:
        """Set one layer's output clip (shared unit); returns after the write response."""
        for off, v in self.regmap.table_writes(index, qmin, qmax):
            await self.write(off, v)

    async def program_layer(self, layer: LayerImage) -> None:
        for off, v in program_sequence(self.regmap, layer):
            await self.write(off, v)

    async def status(self) -> dict:
        v = await self.read("STATUS")
        return {"busy": v & 1, "cfg_error": (v >> 1) & 1, "tbl_error": (v >> 2) & 1,
                "done": v >> 16}
