"""The C++ headers (cpp/include) and the CMake package (cmake/) install inside the
``pyclad`` package, so that ``pyclad --include-dir`` and ``pyclad --cmake-dir`` name
an installed copy.  Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["pyclad", "pyclad.*"]) + ["pyclad.include", "pyclad.cmake"],
    package_dir={"pyclad.include": "cpp/include", "pyclad.cmake": "cmake"},
    package_data={
        "pyclad.include": ["pyclad/*.hpp", "clad/Differentiator/*.h"],
        "pyclad.cmake": ["*.cmake"],
    },
)
