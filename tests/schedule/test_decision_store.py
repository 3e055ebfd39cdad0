"""Decisions stored on disk are found again and give the same program; they are data only,
and an entry that does not parse or verify is a miss."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import stat

from igoc.api import compile_file
from igoc.cost import decide, store
from igoc.isa.npufile import encode_program
from igoc.schedule.layer_schedule import LayerSchedule, Partition
from igoc.schedule.steps import Tiling

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics" / "conv3x3.mlir"


def test_a_stored_decision_gives_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    first = encode_program(compile_file(str(SAMPLE), "edge", "igo"))
    stored = list(tmp_path.rglob("*.json"))
    assert stored, "nothing was stored"
    calls = []  # each compile has a search of its own: what it finds comes from the disk
    monkeypatch.setattr(decide, "interleaved_candidates", lambda *a, **k: calls.append(a))
    second = encode_program(compile_file(str(SAMPLE), "edge", "igo"))
    assert calls == []  # every decision came from the store
    assert first == second


def test_a_damaged_entry_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    key = ("test", 1)
    store.save(key, "value")
    (path,) = tmp_path.rglob("*.json")
    assert store.load(key) == "value"
    path.write_bytes(b"not json")
    assert store.load(key) is None
    monkeypatch.delenv(store.ENVIRONMENT)
    assert store.load(key) is None


class _Payload:
    """What a hostile pickle does when it is loaded: leave a mark (here, a file)."""

    def __init__(self, mark: pathlib.Path) -> None:
        self.mark = mark

    def __reduce__(self):
        return (pathlib.Path.write_text, (self.mark, "code ran"))


def test_a_crafted_pickle_never_runs(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(store.ENVIRONMENT, str(folder))
    key = ("order", "a layer")
    path = store._path(key)
    path.parent.mkdir(parents=True)
    mark = tmp_path / "mark"
    path.write_bytes(pickle.dumps((repr(key), _Payload(mark))))
    assert store.load(key) is None
    assert not mark.exists()


SCHEDULE = LayerSchedule(
    ("dx", "dw"),
    "sequential",
    (Tiling(64, 32, 128), Tiling(16, 32, 8)),
    Partition("n", 4, 2),
    ("ilj", "jli"),
)


def test_schedules_and_candidates_come_back_equal(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    rows = [{"order": "dx-major", "tile": [[64, 32, 128]], "cycles": 1234, "fits": False}]
    value = (SCHEDULE, rows)
    store.save(("k",), value)
    back = store.load(("k",))
    assert back == value and type(back[0].tilings) is tuple and hash(back[0]) == hash(SCHEDULE)
    (path,) = tmp_path.rglob("*.json")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def _edit(path: pathlib.Path, change) -> None:
    entry = json.loads(path.read_text())
    change(entry)
    path.write_text(json.dumps(entry))


def test_edited_or_foreign_entries_are_misses(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    key = ("k",)

    def set_tile(entry):
        entry["value"]["t"][0]["f"]["tilings"]["t"][0]["f"]["m"] = 1

    def foreign_class(entry):
        entry["value"]["t"][0]["c"] = "Popen"

    def other_key(entry):
        entry["key"] = repr(("other",))

    for change in (set_tile, foreign_class, other_key):
        store.save(key, (SCHEDULE, []))
        (path,) = tmp_path.rglob("*.json")
        assert store.load(key) is not None
        _edit(path, change)
        assert store.load(key) is None, change.__name__
    # An edit that carries a matching hash still cannot name a class outside the schedule's.
    store.save(key, (SCHEDULE, []))
    entry = json.loads(path.read_text())
    foreign_class(entry)
    entry["sha256"] = store._digest(entry["key"], entry["value"])
    path.write_text(json.dumps(entry))
    assert store.load(key) is None


def test_values_that_are_not_data_are_not_stored(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    store.save(("k",), object())
    store.save(("nan",), float("nan"))
    assert list(tmp_path.rglob("*.json")) == []
