"""Stream stress bench: a plain-Verilog test bench (stress_tb.v) for a generated RAM-store
unit under adversarial valid/ready traffic, resets and cfg writes, checked beat by beat
against golden's integer model. ``python -m sim.benches.stress --beats 1000000``."""
