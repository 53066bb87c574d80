"""``cupy.cuda.compiler``: the simulated device compiles with the host compiler (see _raw)."""

from __future__ import annotations

from gpucell.backend.sim._raw import CompileException

__all__ = ["CompileException"]
