"""exactbn.sim: cocotb benches on the generated Verilog (Verilator, Icarus), scored by golden.

Public API:

- :func:`exactbn.sim.regress.simulate_layer` (layer, UnitConfig, simulator, vectors, waves,
  seed, run_dir, scenarios) -> :class:`exactbn.sim.runner.RunResult` (pass/fail, per-scenario
  vector counts, first mismatch, waveform path); :func:`exactbn.sim.regress.unit_config`.
- :func:`exactbn.sim.runner.run_bench` / :func:`exactbn.sim.runner.build`: cached builds
  via ``cocotb_tools.runner`` and runs of a :class:`exactbn.sim.spec.BenchSpec`.
- :mod:`exactbn.sim.stimulus` (per-channel inputs: exhaustive, transition points,
  saturation boundaries, exact ties, extremes, random; packing into beats),
  :mod:`exactbn.sim.scoreboard` (golden's integer model + exact reference, first mismatch),
  :mod:`exactbn.sim.benches.axis` (source, sink, monitor), :mod:`exactbn.sim.benches.bn_bench`
  (the TB class and the cocotb scenarios), :mod:`exactbn.sim.layers` (tie and example layers).

See sim/README.md.
"""
