"""Importers: trained models -> the layer file (one intermediate description for all).

``import_model(path, overrides)`` picks the importer from the file: ONNX (QDQ or QONNX) for
``.onnx``, PyTorch (optional, torch imported lazily) for ``.pt``/``.pth``, a PT2E program
saved with ``torch.export.save`` for ``.pt2``; ``from_pt2e`` reads a converted graph in
Python. Each returns an :class:`ImportResult` whose ``layers`` are validated by
``exactbn.formats.parse_layers``.
"""

from __future__ import annotations

import os

from exactbn.formats import FormatError

from .common import ImportedLayer, ImportResult, Overrides, accumulator_range

__all__ = ["import_model", "from_pt2e", "ImportResult", "ImportedLayer", "Overrides",
           "accumulator_range"]

_ONNX = (".onnx",)
_TORCH = (".pt", ".pth", ".pkl", ".bin")
_PT2 = (".pt2",)


def from_pt2e(obj, overrides: Overrides | None = None) -> ImportResult:
    """Import a ``convert_pt2e`` GraphModule or ExportedProgram (see :mod:`.pt2e`)."""
    from .pt2e import from_pt2e as _from_pt2e

    return _from_pt2e(obj, overrides)


def import_model(path: str | os.PathLike, overrides: Overrides | None = None) -> ImportResult:
    """Import every BN / requantization layer of the model file at ``path``."""
    p = os.fspath(path)
    ext = os.path.splitext(p)[1].lower()
    if ext in _ONNX:
        from .onnx_import import import_onnx

        return import_onnx(p, overrides)
    if ext in _PT2:
        from .pt2e import import_pt2

        return import_pt2(p, overrides)
    if ext in _TORCH:
        from .torch_import import import_torch

        return import_torch(p, overrides)
    raise FormatError(f"unknown model type {ext or '(no extension)'!r}; expected "
                      f"{', '.join(_ONNX + _TORCH + _PT2)}", file=p)
