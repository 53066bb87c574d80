"""``cupy.lib`` of the simulated device."""

from gpucell.backend.sim.lib import stride_tricks

__all__ = ["stride_tricks"]
