"""golden/fast_certs.py: the bulk certificate scan accepts a list only when every entry is
one formats._plain_certificate accepts, reads verify's arrays exactly as
fast_verify._certificate_arrays does, and a bad entry in a wide layer is still refused with
its channel and field named."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from exactbn.golden.fast_certs import scan_certificates
from exactbn.golden.fast_verify import MAX_POINTS, _certificate_arrays
from exactbn.golden.solver import solve_layer
from exactbn.golden.synthetic import random_affine

from exactbn import formats

C = 80  # above the scan's 64-channel threshold in formats
BAD = 70


@pytest.fixture(scope="module")
def solved():
    a, b = random_affine(C, seed=3)
    layer = formats.parse_layers({
        "name": "l", "input": {"bits": 12, "signed": True},
        "output": {"bits": 8, "signed": True, "rounding": "half_up"},
        "affine": {"a": a.tolist(), "b": b.tolist()}})[0]
    return solve_layer(layer)


def _edits():
    """(name, edit of one certificate dict, stays valid for _plain_certificate)."""
    def pt(i, v):
        def f(e):
            e["points"][0][i] = v
        return f

    def key(k, v):
        def f(e):
            e[k] = v
        return f

    def drop(k):
        return lambda e: e.pop(k)

    def reorder(e):
        items = list(e.items())[::-1]
        e.clear()
        e.update(items)

    return [
        ("float x", pt(0, 1.5), False), ("bool level", pt(1, True), False),
        ("kind", pt(2, "Lower"), False), ("den 0", key("alpha_lo", [1, 0]), False),
        ("den < 0", key("alpha_hi", [1, -3]), False), ("short alpha", key("alpha_lo", [1]),
                                                        False),
        ("float den", key("alpha_lo", [1, 2.0]), False), ("hw", key("hw_rounding", "Floor"),
                                                          False),
        ("points obj", key("points", {}), False), ("extra key", key("x", 1), False),
        ("missing key", drop("alpha_hi"), False), ("short point", pt(0, None), False),
        ("null alpha", key("alpha_lo", None), True), ("no points", key("points", []), True),
        ("hw half_even", key("hw_rounding", "half_even"), True),
        ("big x", pt(0, 1 << 45), True), ("huge x", pt(0, 1 << 70), True),
        ("negative zero-free", key("alpha_hi", [-7, 3]), True), ("reordered", reorder, True),
    ]


@pytest.mark.parametrize("name,edit,valid", _edits(), ids=[e[0] for e in _edits()])
def test_scan_accepts_only_plain_certificates(solved, name, edit, valid):
    certs = copy.deepcopy(solved.certificate)
    certs[3] = None
    edit(certs[BAD])
    plain = all(e is None or formats._plain_certificate(e) for e in certs)
    assert plain == valid
    got = scan_certificates(certs, MAX_POINTS)
    if not plain:
        assert got is None
        return
    if name in ("reordered", "huge x"):  # valid, left to the per-entry path
        assert got is None
        return
    assert got is not None
    pts, npts, fal = got
    want_p, want_n, want_f = _certificate_arrays(certs)
    assert npts.tolist() == want_n.tolist()
    used = want_n >= 0
    assert np.array_equal(pts[used], want_p[used]) and np.array_equal(fal[used], want_f[used])


def test_scan_reads_a_whole_solved_layer(solved):
    pts, npts, fal = scan_certificates(solved.certificate, MAX_POINTS)
    want_p, want_n, want_f = _certificate_arrays(solved.certificate)
    assert (npts >= 0).all() and npts.tolist() == want_n.tolist()
    assert np.array_equal(pts, want_p) and np.array_equal(fal, want_f)


@pytest.mark.parametrize("edit,field", [(lambda e: e.update(alpha_lo=[1, 0]), "alpha_lo"),
                                        (lambda e: e["points"][0].__setitem__(1, 2.5),
                                         "points")])
def test_wide_layer_bad_certificate_is_located(solved, tmp_path, edit, field):
    obj = formats.dump_solved([solved])
    edit(obj["layers"][0]["certificate"][BAD])
    path = tmp_path / "s.json"
    path.write_bytes(formats.dumps_solved(obj))
    with pytest.raises(formats.FormatError) as e:
        formats.load_solved(path)
    msg = str(e.value)
    assert f"channel {BAD}" in msg and f"certificate.{field}" in msg and "layer 'l'" in msg



def test_encoded_certificates_are_the_per_entry_encoding():
    """encode_certificates / CertificateTable (the fast solve's writer) give exactly the bytes
    of fast.certificates_of's dicts encoded one by one, on the solver's own arrays and on
    planted rows: every flag combination, repeated (x, kind) keys (the later one wins),
    negative numbers, zero numerators, unbounded ends, int64-sized values."""
    import orjson
    from exactbn.golden.fast import certificates_of, solve_fast
    from exactbn.golden.fast_certs import CertificateTable, encode_certificates

    a, b = random_affine(300, seed=11)
    a[:3] = [-0.75, 0.0, 3.0]
    res = solve_fast(a, b, -(1 << 15), (1 << 15) - 1, "half_up", -128, 127)
    rng = np.random.default_rng(4)
    n = 400
    cert = rng.integers(-5, 5, size=(n, 12)) * rng.choice([1, 7, 10**9, 2**40], size=(n, 12))
    cert[::7, 2] = cert[::7, 0]  # the same x twice (lower/upper, and lower twice below)
    cert[::5, 8] = cert[::5, 0]
    cert[::9, 10] = cert[::9, 6]
    alpha = rng.integers(-50, 50, size=(n, 4)) * rng.choice([1, 3, 2**30], size=(n, 4))
    alpha[:, 1] = np.abs(alpha[:, 1])
    alpha[:, 3] = np.abs(alpha[:, 3])
    alpha[::4, 1] = 0
    alpha[::6, 3] = 0
    planted = {"cert": cert, "cert_flags": np.arange(n) % 16, "alpha": alpha}
    for r, hw in ((res, "floor"), (planted, "floor"), (planted, "half_even")):
        dicts = certificates_of(r, np.arange(len(r["cert"])), hw)
        want = b",\n    ".join(orjson.dumps(d) for d in dicts)
        assert encode_certificates(r["cert"], r["cert_flags"], r["alpha"], hw) == want
        table = CertificateTable(r["cert"], r["cert_flags"], r["alpha"], hw)
        assert table.json_entries() == want
        assert table == dicts and dicts == table and list(table) == dicts
        assert len(table) == len(dicts) and table[3] == dicts[3]
    dicts[0]["alpha_lo"] = [1, 1]  # a table is compared by value: one entry differs
    assert CertificateTable(planted["cert"], planted["cert_flags"], planted["alpha"],
                            "half_even") != dicts
