"""The simulator's errors: CuPy's error types by name, and RaceError, which CUDA never raises."""

from __future__ import annotations

__all__ = ["RaceError", "CUDARuntimeError", "CUDADriverError", "CAPTURE_UNSUPPORTED", "CAPTURE_INVALIDATED",
           "CAPTURE_UNJOINED", "CAPTURE_IMPLICIT", "ILLEGAL_ADDRESS"]


class RaceError(RuntimeError):
    """Two accesses to one device buffer, at least one a write, that CUDA does not order.

    On a real GPU the program would run and compute a wrong result now and then; the simulated
    device raises instead, naming both operations, their streams and the Python lines that queued
    them. The usual fixes: make one stream wait for an event recorded on the other
    (``stream.wait_event(other.record())``), or keep a buffer alive until the stream that reads it
    has passed an event the allocating stream waits for (PyTorch's ``record_stream`` rule).
    """


# CUDA's error names and strings (cudaGetErrorName / cudaGetErrorString), as CuPy formats them.
CAPTURE_UNSUPPORTED = ("cudaErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing")
CAPTURE_INVALIDATED = ("cudaErrorStreamCaptureInvalidated", "operation failed due to a previous error during capture")
CAPTURE_UNJOINED = ("cudaErrorStreamCaptureUnjoined",
                    "capture sequence contains a fork that was not joined to the primary stream")
CAPTURE_IMPLICIT = ("cudaErrorStreamCaptureImplicit",
                    "operation would make the legacy stream depend on a capturing blocking stream")
ILLEGAL_ADDRESS = ("cudaErrorIllegalAddress", "an illegal memory access was encountered")


class CUDARuntimeError(RuntimeError):
    """As ``cupy.cuda.runtime.CUDARuntimeError``: ``"<name>: <string>"`` (plus the simulator's why)."""

    def __init__(self, status: tuple[str, str], detail: str = ""):
        self.status = status[0]
        super().__init__(f"{status[0]}: {status[1]}" + (f" ({detail})" if detail else ""))


class CUDADriverError(RuntimeError):
    """As ``cupy.cuda.driver.CUDADriverError``, raised by kernel launches."""
