"""The installed package: dialects/ and passes/ land as igoc.dialects and igoc.passes.

Builds the distribution from a copy of the sources with only what the test
environment has: a real wheel when setuptools can make one (``pip wheel
--no-build-isolation``), otherwise setuptools' ``build_py``, which lays out
exactly the files a wheel's ``purelib`` holds.
"""

import importlib.util
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "igoc", "dialects", "passes"]


def _can_build_wheels() -> bool:
    return any(
        importlib.util.find_spec(name) is not None
        for name in ("wheel", "setuptools.command.bdist_wheel")
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pathlib.Path:
    """The tree of files the distribution installs."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed here")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    tree = work / "tree"
    if _can_build_wheels():
        command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"]
        command += ["--no-build-isolation", "-w", str(work / "dist"), "-q"]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        (wheel,) = (work / "dist").glob("igoc-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tree)
    else:
        command = [sys.executable, "-c", "import setuptools; setuptools.setup()"]
        command += ["-q", "build_py", "--build-lib", str(tree)]
        subprocess.run(command, check=True, capture_output=True, cwd=source, timeout=300)
    return tree


def test_dialects_and_passes_are_inside_igoc(built):
    assert (built / "igoc" / "dialects" / "grad.py").is_file()
    assert (built / "igoc" / "dialects" / "__init__.py").is_file()
    assert (built / "igoc" / "passes" / "__init__.py").is_file()
    assert not (built / "dialects").exists()
    assert not (built / "passes").exists()


def test_only_igoc_is_installed_at_top_level(built):
    top = {p.name for p in built.iterdir() if not p.name.endswith(".dist-info")}
    assert top == {"igoc"}


def test_data_files_travel_with_the_code(built):
    assert (built / "igoc" / "frontend" / "grammar.lark").is_file()
    assert (built / "igoc" / "target" / "presets" / "server.toml").is_file()
    for source in (ROOT / "dialects").glob("*.py"):
        assert (built / "igoc" / "dialects" / source.name).read_bytes() == source.read_bytes()


def test_the_package_says_it_is_typed(built):
    assert (built / "igoc" / "py.typed").is_file()


def test_the_license_travels_with_the_wheel(built):
    licenses = list(built.glob("*.dist-info/licenses/LICENSE")) + list(
        built.glob("*.dist-info/LICENSE")
    )
    if not licenses:  # build_py lays out the package only, without its metadata
        pytest.skip("no .dist-info in this build")
    assert licenses[0].read_bytes() == (ROOT / "LICENSE").read_bytes()
    metadata = next(built.glob("*.dist-info/METADATA")).read_text()
    assert "License-Expression: Apache-2.0" in metadata


def test_the_json_schemas_travel_with_the_code(built):
    names = sorted(p.name for p in (ROOT / "igoc" / "schemas").glob("*.schema.json"))
    assert names == ["bench-decompose.schema.json", "bench.schema.json", "sim-report.schema.json"]
    for name in names:
        assert (built / "igoc" / "schemas" / name).read_bytes() == (
            ROOT / "igoc" / "schemas" / name
        ).read_bytes()
