"""exactbn.golden: the exact reference, the integer model, the solver and the baselines.

Pure math: no hardware, no tool calls.
"""

from .affine import affine_from_bn
from .model import integer_model
from .reference import reference

__all__ = ["affine_from_bn", "integer_model", "reference"]
