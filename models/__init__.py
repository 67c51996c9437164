"""Scripts that (re)generate the bundled model files in exactbn/data (torch needed only here)."""
