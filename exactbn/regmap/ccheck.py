"""Compile an axil kit's C files with the system C compiler (``cc``): a tiny translation unit
that includes ``NAME_params.h`` and calls ``NAME_check_id`` and ``NAME_program_layer`` for
every layer, built with ``-std=c11 -Wall -Wextra -pedantic -Werror`` (nothing is run)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["compile_params_h"]


def compile_params_h(kit_dir: str | Path) -> tuple[int, str]:
    """(return code, compiler output) for the kit's ``*_params.h``; 127 without ``cc``."""
    kit = Path(kit_dir)
    headers = sorted(kit.glob("*_params.h"))
    cc = shutil.which("cc")
    if cc is None or not headers:
        return 127, "no system C compiler (cc)" if cc is None else f"no *_params.h in {kit}"
    name = headers[0].name[:-len("_params.h")]
    src = (f'#include "{name}_params.h"\n'
           f"int {name}_program_all(uintptr_t base)\n{{\n"
           f"    if ({name}_check_id(base) != 0)\n        return -1;\n"
           f"    for (unsigned i = 0; i < {name.upper()}_LAYERS; i++)\n"
           f"        if ({name}_program_layer(base, &{name}_layers[i]) != 0)\n"
           "            return -2;\n    return 0;\n}\n")
    with tempfile.TemporaryDirectory(prefix="exactbn-cc-") as tmp:
        (Path(tmp) / "host.c").write_text(src)
        p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-c",
                            "-I", str(kit.resolve()), "host.c", "-o", "host.o"], cwd=tmp,
                           capture_output=True, text=True, timeout=120)
    text = (p.stdout + p.stderr).strip() or f"cc: {headers[0].name} compiled (C11, -Werror)"
    return p.returncode, text
