# gpucell on an NVIDIA GPU (CUDA 12.x driver on the host, NVIDIA Container Toolkit):
#     docker build -t gpucell .
#     docker run --gpus all gpucell            # the demo
#     docker run --gpus all gpucell pytest     # the test suite, GPU tests included
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# CuPy compiles gpucell's kernels at run time with NVRTC, which on CUDA >= 12.2 needs the CUDA
# runtime headers (vector_types.h, cuda_fp16.h); the runtime image leaves them out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
        "cuda-cudart-dev-$(echo "$CUDA_VERSION" | cut -d. -f1,2 | tr . -)" \
    && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GPUCELL_KERNEL_CACHE=/cache/kernels \
    CUPY_CACHE_DIR=/cache/kernels
RUN python3 -m venv /opt/venv \
    && useradd --uid 10001 --create-home gpucell \
    && mkdir -p /cache/kernels \
    && chown -R gpucell:gpucell /cache

WORKDIR /opt/gpucell
# The package alone first, so that editing tests or benchmarks does not reinstall it.
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY gpucell/ gpucell/
COPY kernels/ kernels/
# The README's GPU install, then its test install (pytest and what the tests need) for
# `docker run --gpus all gpucell pytest`.
# hadolint ignore=DL3013
RUN python -m pip install ".[cuda12]" \
    && python -m pip install ".[dev]"
COPY --chown=gpucell:gpucell tests/ tests/
COPY --chown=gpucell:gpucell benchmarks/ benchmarks/
COPY --chown=gpucell:gpucell Dockerfile .dockerignore ./
RUN chown gpucell:gpucell /opt/gpucell

USER 10001:10001
# Compiled kernels survive the container: mount a named volume here (docker run -v gpucell-cache:/cache).
VOLUME ["/cache"]
CMD ["python", "-m", "gpucell.demo"]
