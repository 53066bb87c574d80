"""Ships the top-level ``kernels/`` folder inside the wheel as ``gpucell/_kernels``.

The CUDA sources live at the top of the repository (one place to edit them); an installed,
non-editable gpucell finds them in its own package folder instead.
"""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parent


class BuildWithKernels(build_py):
    def run(self):
        super().run()
        target = pathlib.Path(self.build_lib) / "gpucell" / "_kernels"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / "kernels").glob("*.cu*")):
            shutil.copy2(source, target / source.name)


setup(cmdclass={"build_py": BuildWithKernels})
