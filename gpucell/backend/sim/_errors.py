"""The simulator's errors: CuPy's error types by name, and RaceError, which CUDA never raises."""

from __future__ import annotations

__all__ = ["RaceError", "CUDARuntimeError", "CUDADriverError", "runtime_error", "driver_error",
           "CAPTURE_UNSUPPORTED", "CAPTURE_INVALIDATED", "CAPTURE_MERGE", "CAPTURE_UNJOINED", "CAPTURE_IMPLICIT",
           "ILLEGAL_ADDRESS", "ILLEGAL_STATE", "INVALID_DEVICE", "INVALID_HANDLE", "INVALID_VALUE", "NOT_FOUND",
           "LAUNCH_FAILED", "UNKNOWN"]


class RaceError(RuntimeError):
    """Two accesses to one device buffer, at least one a write, that CUDA does not order.

    On a real GPU the program would run and compute a wrong result now and then; the simulated
    device raises instead, naming both operations, their streams and the Python lines that queued
    them. The usual fixes: make one stream wait for an event recorded on the other
    (``stream.wait_event(other.record())``), or keep a buffer alive until the stream that reads it
    has passed an event the allocating stream waits for (PyTorch's ``record_stream`` rule).
    """


# CUDA's error codes, names and strings (cudaGetErrorName / cudaGetErrorString) that the simulator
# raises; CuPy's errors take the code and format "<name>: <string>".
_RUNTIME = {
    101: ("cudaErrorInvalidDevice", "invalid device ordinal"),
    400: ("cudaErrorInvalidResourceHandle", "invalid resource handle"),
    401: ("cudaErrorIllegalState", "the operation cannot be performed in the present state"),
    700: ("cudaErrorIllegalAddress", "an illegal memory access was encountered"),
    900: ("cudaErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing"),
    901: ("cudaErrorStreamCaptureInvalidated", "operation failed due to a previous error during capture"),
    902: ("cudaErrorStreamCaptureMerge",
          "operation would have resulted in a merge of two independent capture sequences"),
    904: ("cudaErrorStreamCaptureUnjoined",
          "capture sequence contains a fork that was not joined to the primary stream"),
    906: ("cudaErrorStreamCaptureImplicit",
          "operation would make the legacy stream depend on a capturing blocking stream"),
}
INVALID_DEVICE, INVALID_HANDLE, ILLEGAL_STATE, ILLEGAL_ADDRESS = 101, 400, 401, 700
CAPTURE_UNSUPPORTED, CAPTURE_INVALIDATED, CAPTURE_MERGE, CAPTURE_UNJOINED, CAPTURE_IMPLICIT = 900, 901, 902, 904, 906
_DRIVER = {1: ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
           500: ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
           719: ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
           999: ("CUDA_ERROR_UNKNOWN", "unknown error")}
INVALID_VALUE, NOT_FOUND, LAUNCH_FAILED, UNKNOWN = 1, 500, 719, 999


class CUDARuntimeError(RuntimeError):
    """As ``cupy.cuda.runtime.CUDARuntimeError(status)``: ``"<name>: <string>"``."""

    def __init__(self, status):
        self.status = status
        name, text = _RUNTIME.get(status, (f"cudaError{status}", "unknown error"))
        super().__init__(f"{name}: {text}")


class CUDADriverError(RuntimeError):
    """As ``cupy.cuda.driver.CUDADriverError(status)``, raised by kernel launches."""

    def __init__(self, status):
        self.status = status
        name, text = _DRIVER.get(status, (f"CUDA_ERROR_{status}", "unknown error"))
        super().__init__(f"{name}: {text}")


def runtime_error(status: int, detail: str = "") -> CUDARuntimeError:
    """CuPy's error for ``status``, with the simulator's reason appended."""
    error = CUDARuntimeError(status)
    if detail:
        error.args = (f"{error.args[0]} ({detail})",)
    return error


def driver_error(status: int, detail: str = "") -> CUDADriverError:
    error = CUDADriverError(status)
    if detail:
        error.args = (f"{error.args[0]} ({detail})",)
    return error
