"""Decisions stored on disk are found again and give the same program."""

from __future__ import annotations

import pathlib

from igoc.api import compile_file
from igoc.cost import decide, store
from igoc.isa.npufile import encode_program

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics" / "conv3x3.mlir"


def test_a_stored_decision_gives_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path))
    first = encode_program(compile_file(str(SAMPLE), "edge", "igo"))
    stored = list(tmp_path.rglob("*.pickle"))
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
    (path,) = tmp_path.rglob("*.pickle")
    assert store.load(key) == "value"
    path.write_bytes(b"not a pickle")
    assert store.load(key) is None
    monkeypatch.delenv(store.ENVIRONMENT)
    assert store.load(key) is None
