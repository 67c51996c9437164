"""exactbn.synth: resource and Fmax reports for open FPGA flows (YoWASP Yosys + nextpnr).

- :mod:`.targets`: FPGA families and devices (:func:`resolve_target`).
- :mod:`.flow`: run one design or many through the tools, return plain report entries.
- :mod:`.harness`: the serial-in/serial-out harness for pin-limited devices.
- :mod:`.designs`: the unit and the baselines at the same widths, from a solved layer.
- :mod:`.report`: ``report.json``, ``report.md`` and plots.
"""

from .flow import DesignSource, SynthError, run_design, run_designs, tool_versions
from .targets import TARGETS, Target, TargetError, resolve_target

__all__ = [
    "DesignSource", "SynthError", "TARGETS", "Target", "TargetError", "resolve_target",
    "run_design", "run_designs", "tool_versions",
]
