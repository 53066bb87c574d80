"""NCCL through the GPU module: ``cupy.cuda.nccl``, or the simulated device's twin of it.

Imported on first use only: CuPy's wheels do not bundle libnccl, and ``import gpucell`` must work
without it. CuPy loads the pip wheel ``nvidia-nccl-cu12`` / ``-cu13`` (the ``cuda12`` / ``cuda13``
extras of gpucell pull the version it is built against).
"""

from __future__ import annotations

import importlib

from gpucell import backend

__all__ = ["nccl_module", "NCCL_INSTALL_HINT"]

NCCL_INSTALL_HINT = ('pip install "gpucell[cuda12]" (it brings nvidia-nccl-cu12>=2.18.1,<3), or '
                     'pip install "nvidia-nccl-cu13>=2.27.7,<3" with cupy-cuda13x')


def nccl_module():
    """``cupy.cuda.nccl`` of the GPU module in use; ImportError naming what to install without it."""
    if not backend.gpu_available():
        raise RuntimeError(f"For 'communication.init', the NCCL backend needs a GPU: {backend.gpu_status()[1]}. "
                           f"Use init('mpi') on the CPU.")
    try:
        module = importlib.import_module(f"{backend.cupy.__name__}.cuda.nccl")
    except ImportError as error:
        raise ImportError(f"For 'communication.init', NCCL could not be imported ({error}); "
                          f"{NCCL_INSTALL_HINT}.") from error
    if not getattr(module, "available", False):
        raise ImportError(f"For 'communication.init', CuPy found no libnccl (CuPy's wheels do not bundle it); "
                          f"{NCCL_INSTALL_HINT}.")
    return module
