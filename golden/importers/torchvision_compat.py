"""Import torchvision's model definitions even where its compiled ops cannot load.

The PyPI ``torchvision==0.28.0`` wheel links CUDA libraries (``libc10_cuda.so``); next to a
CPU-only ``torch==2.13.0+cpu`` its ``_C`` extension does not load and ``import torchvision``
fails registering fake kernels for ``torchvision::nms``/``qnms``. The models (ResNet,
MobileNetV2 and their quantizable variants) are pure Python and need none of those ops:
declaring the two operator schemas lets the import finish; calling ``nms`` then still fails.
"""

from __future__ import annotations

import sys

__all__ = ["import_torchvision"]

_LIB = []


def import_torchvision():
    """``import torchvision``; on the missing-ops failure, declare them and retry once."""
    import torch

    try:
        import torchvision

        return torchvision
    except RuntimeError as e:
        if "torchvision::" not in str(e):
            raise
    for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[k]
    lib = torch.library.Library("torchvision", "DEF")  # noqa: TOR901
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIB.append(lib)
    import torchvision

    return torchvision
