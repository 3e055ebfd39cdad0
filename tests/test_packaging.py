"""The package layout: dialects/ and passes/ install as igoc.dialects and igoc.passes."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _declared_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["packages"]


def test_every_package_folder_is_declared():
    declared = set(_declared_packages())
    found = {"igoc.dialects", "igoc.passes"}
    for init in (ROOT / "igoc").rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        found.add(".".join(rel.parts))
    assert found == declared


def test_no_top_level_dialects_or_passes_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = config["tool"]["setuptools"]["package-dir"]
    assert mapping["igoc.dialects"] == "dialects"
    assert mapping["igoc.passes"] == "passes"
    assert all(p.startswith("igoc") for p in _declared_packages())


def test_dialects_import_under_igoc():
    import igoc.dialects
    import igoc.passes

    assert pathlib.Path(igoc.dialects.__file__).parent == ROOT / "dialects"
    assert pathlib.Path(igoc.passes.__file__).parent == ROOT / "passes"
