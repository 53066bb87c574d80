"""``cupy.cuda.Device`` and the device properties of the simulated GPU.

The simulated device reports few multiprocessors on purpose: kernels size their grids by the SM
count, and every block is run by the host emulator, so fewer, larger blocks keep the simulation fast
while still exercising grid-stride loops and multi-block launches.
"""

from __future__ import annotations

from gpucell.backend.sim import _clock, _context

__all__ = ["Device", "TOTAL_MEMORY", "NAME", "SM_COUNT", "properties"]

NAME = "gpucell simulated CUDA device"
SM_COUNT = 8
TOTAL_MEMORY = 16 * 2**30
COMPUTE_CAPABILITY = (9, 0)
_ATTRIBUTES = {"MultiProcessorCount": SM_COUNT, "MaxThreadsPerBlock": 1024, "MaxBlockDimX": 1024,
               "MaxBlockDimY": 1024, "MaxBlockDimZ": 64, "MaxGridDimX": 2**31 - 1, "MaxGridDimY": 65535,
               "MaxGridDimZ": 65535, "MaxSharedMemoryPerBlock": 48 * 1024, "WarpSize": 32,
               "ComputeCapabilityMajor": COMPUTE_CAPABILITY[0], "ComputeCapabilityMinor": COMPUTE_CAPABILITY[1]}


def properties(device_id: int) -> dict:
    """As ``cudaGetDeviceProperties`` through CuPy (bytes for the name)."""
    _context.check_device_id(device_id)
    return {"name": NAME.encode(), "totalGlobalMem": TOTAL_MEMORY, "multiProcessorCount": SM_COUNT,
            "major": COMPUTE_CAPABILITY[0], "minor": COMPUTE_CAPABILITY[1], "warpSize": 32,
            "maxThreadsPerBlock": 1024, "sharedMemPerBlock": 48 * 1024, "pciBusID": device_id, "pciDeviceID": 0,
            "pciDomainID": 0, "clockRate": 1_000_000, "memoryClockRate": 1_000_000, "memoryBusWidth": 4096,
            "l2CacheSize": 50 * 2**20, "uuid": bytes(16)}


class Device:
    """A simulated CUDA device: ``Device(device=None)`` (the current one by default)."""

    def __init__(self, device=None):
        if device is None:
            device = _context.get_device_id()
        if isinstance(device, bool) or not isinstance(device, (int, Device)) and not hasattr(device, "__index__"):
            raise TypeError(f"an integer is required (got type {type(device).__name__})")
        self.id = _context.check_device_id(int(device))
        self._previous: list[int] = []

    def __int__(self):
        return self.id

    def __index__(self):
        return self.id

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def __enter__(self):
        self._previous.append(_context.get_device_id())
        _context.set_device_id(self.id)
        return self

    def __exit__(self, *args):
        _context.set_device_id(self._previous.pop())

    def use(self) -> None:
        _context.set_device_id(self.id)

    def synchronize(self) -> None:
        """The host waits for all work of every stream of this device."""
        from gpucell.backend.sim import _capture
        from gpucell.backend.sim._errors import CAPTURE_UNSUPPORTED, runtime_error

        if _capture.any_capturing():
            _capture.invalidate_all("Device.synchronize during a capture")
            raise runtime_error(CAPTURE_UNSUPPORTED, "Device.synchronize while a stream captures")
        for state in _clock.device_states(self.id):
            _clock.host_merge(_clock.prepare(state))

    @property
    def compute_capability(self) -> str:
        return f"{COMPUTE_CAPABILITY[0]}{COMPUTE_CAPABILITY[1]}"

    @property
    def attributes(self) -> dict:
        return dict(_ATTRIBUTES)

    @property
    def mem_info(self) -> tuple[int, int]:
        from gpucell.backend.sim._memory import get_default_memory_pool

        with self:
            used = get_default_memory_pool().total_bytes()
        return TOTAL_MEMORY - used, TOTAL_MEMORY

    @property
    def pci_bus_id(self) -> str:
        return f"0000:{self.id:02x}:00.0"
