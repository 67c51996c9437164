"""The datapath task's products, taken from the unit's own ``$mul`` cells (assume-guarantee).

Proving the unit's multiplier equal to a second one in the model is what made wide products
(32 x 32) and a free M (RAM store) time out. Here the solver never sees a multiplier:

- ``cut_products`` cuts the output of each of the unit's ``$mul`` cells that computes one of
  the model's partial products (see :func:`~.spec.product_chunks`) and drives it from a new
  input port ``exactbn_ppK_in``: a free value, the same one the model reads. Its operands
  stay visible on ``exactbn_ppK_a`` / ``_b``.
- the harness (:func:`render_lane_sum`) asserts, in every cycle, that each cut cell's
  operands equal (as integers) the slices of the unit's multiplier operands that the model's
  partial product multiplies, and the model sums ``b + sum(pp_k << off_k)`` from the free
  values. It assumes only what every true product satisfies, and only when the operands
  match: the value fits the product's bits.

Why that is sound: in the real unit each cut value *is* ``A*B`` of its cell (Yosys ``$mul``
semantics; the cell's signedness and a ``Y_WIDTH`` wide enough for the exact product are
checked here), so the real run is one of the runs the proof covers; there the operand
assertions make each value the exact product of the model's slices, and
:func:`check_split` shows (exactly, for these widths) that the slices tile each operand, so
the sum of the partial products is ``x*M``. A partial product with no matching cell is
computed by the model itself (slower, same statement). The cell chosen for a partial product
(by its instance path and the bit slices on its ports) only decides speed: a wrong choice
fails an operand assertion, never passes a wrong unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .spec import SpecShape, product_chunks

__all__ = ["Product", "check_split", "cut_products", "port_connections", "render_lane_sum"]

_CELL_LANE_RE = re.compile(r"\\mul(\d+)\.\$mul\$")
_SLICE_RE = re.compile(r"\[(\d+)(?::(\d+))?\]\s*\}?\s*$")


@dataclass(frozen=True)
class Product:
    """One cut ``$mul`` cell: port ``exactbn_pp{port}_in`` carries its output."""

    lane: int
    chunk: int
    port: int
    a_width: int
    b_width: int
    y_width: int
    signed: bool


def check_split(w_xs: int, w_m: int, chunks) -> None:
    """The partial products multiply slices that tile both operands (low slices unsigned,
    the top one signed), every x slice with every M slice: then, for every x and M,
    ``sum(x_i * m_j << (xo_i + mo_j)) == x * M`` (two's complement: x = sum of the unsigned
    low slices << offset + the signed top slice << its offset). ValueError otherwise."""
    xs = sorted({(c[0], c[1], c[2]) for c in chunks})
    ms = sorted({(c[3], c[4], c[5]) for c in chunks})
    for name, parts, width in (("x", xs, w_xs), ("M", ms, w_m)):
        off = 0
        for k, (o, bits, signed) in enumerate(parts):
            if o != off or bits < 1 or signed != (k == len(parts) - 1):
                raise ValueError(f"the partial products' {name} slices do not tile {name}")
            off += bits
        if off != width:
            raise ValueError(f"the partial products' {name} slices cover {off} of {width} bits")
    if len(chunks) != len(xs) * len(ms) or len(set(chunks)) != len(chunks):
        raise ValueError("the partial products are not every x slice times every M slice")


def _need(xw: int, xs: bool, mw: int, ms: bool, signed_cell: bool) -> int:
    """Bits the exact product of the slices needs in the cell's result."""
    if not signed_cell:
        return xw + mw
    return xw + mw + (0 if xs or ms else 1)


def product_bounds(xw: int, xs: bool, mw: int, ms: bool) -> tuple[int, int]:
    """Least and greatest product of an xw-bit and an mw-bit slice (signed or not)."""
    xr = (-(1 << (xw - 1)), (1 << (xw - 1)) - 1) if xs else (0, (1 << xw) - 1)
    mr = (-(1 << (mw - 1)), (1 << (mw - 1)) - 1) if ms else (0, (1 << mw) - 1)
    corners = [a * b for a in xr for b in mr]
    return min(corners), max(corners)


def _slit(width: int, v: int) -> str:
    return f"-{width}'sd{-v}" if v < 0 else f"{width}'sd{v}"


def _last_slice(sig: str) -> tuple[int, int] | None:
    """(offset, bits) of the lowest part of an RTLIL signal spec, if it is a slice."""
    m = _SLICE_RE.search(sig)
    if not m:
        return None
    hi, lo = int(m.group(1)), int(m.group(2) or m.group(1))
    return lo, hi - lo + 1


def _cells(body: list[str]):
    i = 0
    while i < len(body):
        if not body[i].startswith("  cell "):
            i += 1
            continue
        j, params, ports = i + 1, {}, {}
        while body[j] != "  end":
            f = body[j].split(None, 2)
            if f[0] == "parameter":
                params[f[1]] = f[2]
            elif f[0] == "connect":
                ports[f[1]] = f[2]
            j += 1
        yield i, j, body[i].split()[1], body[i].split()[2], params, ports
        i = j + 1


def cut_products(netlist: str, top: str, cfg, shape: SpecShape
                 ) -> tuple[str, dict[tuple[int, int], Product]]:
    """``netlist`` with the output of every ``$mul`` cell of ``top`` that computes a model
    partial product (lane, chunk) read from a new input port ``exactbn_ppK_in``, and its
    operands on wires ``exactbn_ppK_a``/``_b``; returns the text and {(lane, chunk):
    Product}. Cells that match nothing stay multipliers. A unit with instantiated
    multiplier primitives gets no cut."""
    from exactbn.hw.multiplier import uses_primitive

    chunks = product_chunks(shape.w_xs, shape.w_m, shape.split, shape.dsp_width)
    check_split(shape.w_xs, shape.w_m, chunks)
    if uses_primitive(getattr(cfg, "family", "generic"), cfg.pipeline.mult):
        return netlist, {}
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    if any("exactbn_pp" in ln for ln in body):
        raise ValueError("the unit already has wires named exactbn_pp*")
    ports_n = [int(m.group(1)) for ln in body
               if (m := re.match(r"^  wire .*\b(?:input|output|inout) (\d+) ", ln))]
    first = max(ports_n) + 1
    cands = []
    for i, j, ctype, cname, params, ports in _cells(body):
        lane = _CELL_LANE_RE.search(cname)
        if ctype != "$mul" or not lane:
            continue
        sa, sb = int(params["\\A_SIGNED"]), int(params["\\B_SIGNED"])
        if sa != sb:
            continue
        cands.append((i, j, int(lane.group(1)), params, ports, bool(sa)))
    copy = list(body)
    extra, tail = [], []
    found: dict[tuple[int, int], Product] = {}
    used: set[int] = set()
    for lane in range(cfg.lanes):
        for c, (xo, xw, xs, mo, mw, ms) in enumerate(chunks):
            best = None
            for n, (_i, _j, ln, params, ports, sgn) in enumerate(cands):
                if n in used or ln != lane or (not sgn and (xs or ms)):
                    continue
                sa, sb = _last_slice(ports["\\A"]), _last_slice(ports["\\B"])
                if (sa and sa[1] != xw) or (sb and sb[1] != mw):
                    continue
                aw, bw, yw = (int(params[f"\\{p}_WIDTH"]) for p in "ABY")
                if yw < _need(xw, xs, mw, ms, sgn) or aw < xw or bw < mw:
                    continue
                score = (sa == (xo, xw)) + (sb == (mo, mw))
                if best is None or score > best[0]:
                    best = (score, n)
            if best is None:
                continue
            n = best[1]
            i, j, _, params, ports, sgn = cands[n]
            aw, bw, yw = (int(params[f"\\{p}_WIDTH"]) for p in "ABY")
            k = len(found)
            for t in range(i, j):
                if copy[t].startswith("    connect \\Y "):
                    copy[t] = f"    connect \\Y \\exactbn_pp{k}_dead"
            ysig, asig, bsig = ports["\\Y"], ports["\\A"], ports["\\B"]
            extra += [f"  wire width {yw} \\exactbn_pp{k}_dead",
                      f"  wire width {yw} input {first + k} \\exactbn_pp{k}_in",
                      f"  wire width {aw} \\exactbn_pp{k}_a",
                      f"  wire width {bw} \\exactbn_pp{k}_b"]
            tail += [f"  connect {ysig} \\exactbn_pp{k}_in",
                     f"  connect \\exactbn_pp{k}_a {asig}",
                     f"  connect \\exactbn_pp{k}_b {bsig}"]
            found[(lane, c)] = Product(lane, c, k, aw, bw, yw, sgn)
            used.add(n)
    out = lines[:start + 1] + extra + copy + tail + lines[end:]
    return "\n".join(out) + "\n", found


def _ext(sig: str, msb: str, bits: int, signed: bool, width: int) -> str:
    """``sig`` (``bits`` wide, top bit ``msb``) extended to ``width`` bits as a signed or
    unsigned value."""
    if width == bits:
        return sig
    top = f"{{{width - bits}{{{msb}}}}}" if signed else f"{width - bits}'d0"
    return f"{{{top}, {sig}}}"


def port_connections(products: dict[tuple[int, int], Product]) -> str:
    """The dut instance's connections of the cut products' ports."""
    return "".join(f", .exactbn_pp{p.port}_in(py{p.port})" for p in products.values())


def render_lane_sum(w, shape: SpecShape, lane: int, opx: str, opm: str, b: str, s: str,
                    products: dict[tuple[int, int], Product], probes: dict[str, str],
                    x_signed: bool = True) -> None:
    """Harness lines declaring ``s = b + x*M`` (signed, ``w_s`` bits) for one lane from the
    unit's cut products (operands asserted; values assumed to fit only when the operands
    match) or, for a partial product without a cut cell, the model's own product."""
    terms: list[str] = []
    rows: dict[tuple[int, int, bool], list[tuple[str, int, str | None]]] = {}
    for c, (xo, xw, xs, mo, mw, ms) in enumerate(
            product_chunks(shape.w_xs, shape.w_m, shape.split, shape.dsp_width)):
        w_pp = xw + mw + (0 if xs and ms else 1)
        v = f"ppv{lane}_{c}"
        xsl, msl = f"{opx}[{xo + xw - 1}:{xo}]", f"{opm}[{mo + mw - 1}:{mo}]"
        xmsb, mmsb = f"{opx}[{xo + xw - 1}]", f"{opm}[{mo + mw - 1}]"
        p = products.get((lane, c))
        if p is None:
            sx = f"$signed({xsl})" if xs else f"$signed({{1'b0, {xsl}}})"
            sm = f"$signed({msl})" if ms else f"$signed({{1'b0, {msl}}})"
            w(f"  wire signed [{w_pp - 1}:0] {v} = {sx} * {sm};")
        else:
            k, wide = p.port, max(p.a_width, p.b_width, xw, mw) + 1
            need = _need(xw, xs, mw, ms, p.signed)
            a, bb = f"pa{k}", f"pb{k}"
            w(f"  (* anyseq *) wire [{p.y_width - 1}:0] py{k};",
              f"  (* keep *) wire [{p.a_width - 1}:0] {a};",
              f"  (* keep *) wire [{p.b_width - 1}:0] {bb};",
              f"  wire pm{k} = "
              f"{_ext(a, f'{a}[{p.a_width - 1}]', p.a_width, p.signed, wide)} == "
              f"{_ext(xsl, xmsb, xw, xs, wide)} && "
              f"{_ext(bb, f'{bb}[{p.b_width - 1}]', p.b_width, p.signed, wide)} == "
              f"{_ext(msl, mmsb, mw, ms, wide)};",
              f"  always @* assert(pm{k});  // @ppop {lane}")
            lo, hi = product_bounds(xw, xs, mw, ms)
            yv = _ext(f"py{k}", f"py{k}[{p.y_width - 1}]", p.y_width, p.signed, wide + need)
            # the true product lies within the slices' corner products: assume only that
            w(f"  always @* if (pm{k}) assume($signed({yv}) >= {_slit(wide + need, lo)} && "
              f"$signed({yv}) <= {_slit(wide + need, hi)});")
            low = f"py{k}[{need - 1}:0]"
            ext = _ext(low, f"py{k}[{need - 1}]", need, p.signed, w_pp)
            w(f"  wire signed [{w_pp - 1}:0] {v} = {ext};")
            probes[a] = f"dut.exactbn_pp{k}_a"
            probes[bb] = f"dut.exactbn_pp{k}_b"
        terms.append(f"({v} <<< {xo + mo})")
        rows.setdefault((xo, xw, xs), []).append((v, mo, None if p is None else f"pm{p.port}"))
    # Per x slice x_i: the true sum_j pp_ij << mo_j is x_i * M, so it lies between
    # lo_i * M and hi_i * M (x_i's extremes): assumed when that row's operands match. Over
    # the rows this bounds sum(pp) by the extremes of x * M for the unit's M (what its sum
    # width is sized for), which the bounds of each product alone would not.
    wr = max(xw for _, xw, _ in rows) + shape.w_m + 2
    for r, ((_xo, xw, xs), row) in enumerate(rows.items()):
        conds = [pm for _, _, pm in row if pm]
        if not conds:
            continue
        lo, hi = ((-(1 << (xw - 1)), (1 << (xw - 1)) - 1) if xs else (0, (1 << xw) - 1))
        if xs and not x_signed:  # unsigned x: the operand's top bit is 0 (when it is)
            lo, conds = 0, conds + [f"!{opx}[{shape.w_xs - 1}]"]
        mv = f"$signed({opm})"
        w(f"  wire signed [{wr - 1}:0] prow{lane}_{r} = "
          + " + ".join(f"({v} <<< {mo})" for v, mo, _ in row) + ";",
          f"  wire signed [{wr - 1}:0] plo{lane}_{r} = {mv} * {_slit(wr, lo)};",
          f"  wire signed [{wr - 1}:0] phi{lane}_{r} = {mv} * {_slit(wr, hi)};",
          f"  always @* if ({' && '.join(conds)}) assume("
          f"(prow{lane}_{r} >= plo{lane}_{r} && prow{lane}_{r} <= phi{lane}_{r}) || "
          f"(prow{lane}_{r} >= phi{lane}_{r} && prow{lane}_{r} <= plo{lane}_{r}));")
    w(f"  wire signed [{shape.w_s - 1}:0] {s} = $signed({b}) + " + " + ".join(terms) + ";")


def cut_nets(netlist: str, top: str, nets: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """``netlist`` with the drivers of ``nets`` (public wires of ``top``, e.g.
    ``\\\\core.mul0.m``) cut: every cell output that drives a bit of one of them (found through
    the module's ``connect`` aliases) is disconnected, and the signal it drove is read from a
    new input port ``exactbn_cutK_in`` instead; returns the text and ``[(K, width)]``.

    A cut only adds runs: the real netlist's run is the cut one's with each port carrying what
    its cell computed. So whatever a proof shows for every value of the ports (and of what it
    assumes of them, which must hold for the real values) holds for the real netlist. A net
    with no cell driver (a constant, a port) is left as it is."""
    from .cones import _bits

    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "end")
    body = lines[start + 1:end]
    if any("exactbn_cut" in ln for ln in body):
        raise ValueError("the unit already has wires named exactbn_cut*")
    widths: dict[str, int] = {}
    for ln in body:
        if ln.startswith("  wire "):
            f = ln.split()
            widths[f[-1]] = int(f[f.index("width") + 1]) if "width" in f else 1
    alias: dict[tuple[str, int], tuple[str, int] | None] = {}
    for ln in body:
        m = re.match(r"^  connect (\S+(?: \[\d+(?::\d+)?\])?|\{[^}]*\}) (.+)$", ln)
        if m:
            for a, b in zip(_bits(m.group(1), widths), _bits(m.group(2), widths),
                            strict=False):
                if a is not None:
                    alias[a] = b
    want: set[tuple[str, int]] = set()
    for net in nets:
        if net not in widths:
            raise ValueError(f"the unit has no wire {net[1:]!r} (the datapath proof's cut)")
        for bit in _bits(net, widths):
            seen = set()
            while bit is not None and bit in alias and bit not in seen:
                seen.add(bit)
                bit = alias[bit]
            if bit is not None:
                want.add(bit)
    ports_n = [int(m.group(1)) for ln in body
               if (m := re.match(r"^  wire .*\b(?:input|output|inout) (\d+) ", ln))]
    first = max(ports_n) + 1
    copy = list(body)
    extra, tail, cut = [], [], []
    for i, j, _ctype, _cname, _params, ports in _cells(body):
        for port, sig in ports.items():
            if port not in ("\\Y", "\\Q") or not want & {b for b in _bits(sig, widths) if b}:
                continue
            k, wd = len(cut), len(_bits(sig, widths))
            for t in range(i, j):
                if copy[t].startswith(f"    connect {port} "):
                    copy[t] = f"    connect {port} \\exactbn_cut{k}_dead"
            extra += [f"  wire width {wd} \\exactbn_cut{k}_dead",
                      f"  wire width {wd} input {first + k} \\exactbn_cut{k}_in"]
            tail.append(f"  connect {sig} \\exactbn_cut{k}_in")
            cut.append((k, wd))
    out = lines[:start + 1] + extra + copy + tail + lines[end:]
    return "\n".join(out) + "\n", cut
