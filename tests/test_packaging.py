"""The wheel ships kernels/ and an installed (non-editable) gpucell finds it from any folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "gpucell", "kernels"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout (the checkout itself stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "--quiet", "-w", str(out), str(src)], check=True)
    (built,) = out.glob("gpucell-*.whl")
    return built


def test_wheel_contains_every_kernel_source(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"gpucell/_kernels/{p.name}" for p in (ROOT / "kernels").glob("*.cu*")}
    assert expected, "kernels/ holds no CUDA sources"
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"


def test_installed_package_finds_its_kernels_from_another_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    # --ignore-installed: the venv sees the system site-packages (for numpy), where CI's own
    # `pip install .` already put gpucell 0.1.0; without it pip calls the wheel satisfied and skips it.
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                    "--quiet", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import gpucell, gpucell.backend.kernels as k; "
             "print(gpucell.__file__); print(k.kernel_dir()); print(len(k.kernel_files()))")
    result = subprocess.run([str(python), "-c", probe], cwd=elsewhere, capture_output=True, text=True,
                            check=True, env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"})
    package_file, kernel_dir, count = result.stdout.split()
    assert str(env_dir) in package_file, f"imported another gpucell, not the wheel just installed: {package_file}"
    assert kernel_dir.startswith(str(env_dir)) and kernel_dir.endswith("_kernels")
    assert int(count) == len(list((ROOT / "kernels").glob("*.cu")))
