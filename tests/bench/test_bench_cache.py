"""The result cache: keys follow content, entries survive a rerun, corrupt ones are recomputed."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest

from igoc.bench.cache import ResultCache, default_cache_dir
from igoc.bench.jobs import Job, job_key
from igoc.cli.bench import main
from igoc.target import load_target

LINEAR = pathlib.Path(__file__).parents[2] / "samples" / "basics" / "linear.mlir"


def _job(**changes) -> Job:
    job = Job(
        row="linear",
        model="linear",
        batch=None,
        input_name="linear.mlir",
        text=LINEAR.read_text(),
        target_name="edge",
        target_toml=load_target("edge").to_toml(),
        pipeline="igo",
    )
    return dataclasses.replace(job, **changes)


def test_key_is_stable_and_follows_every_input():
    key = job_key(_job(), "compiler-a")
    assert key == job_key(_job(), "compiler-a")
    assert len(key) == 64 and int(key, 16) >= 0
    psum4 = dataclasses.replace(load_target("edge"), psum_bytes=4).to_toml()
    others = [
        job_key(_job(text=_job().text.replace("4x128", "4x129")), "compiler-a"),
        job_key(_job(target_toml=psum4), "compiler-a"),
        job_key(_job(pipeline="baseline"), "compiler-a"),
        job_key(_job(pass_pipeline="conv-to-gemm{im2col=materialize},lower-to-npu"), "compiler-a"),
        job_key(_job(), "compiler-b"),
    ]
    assert len({key, *others}) == len(others) + 1


def test_key_ignores_what_only_names_the_job():
    renamed = _job(row="fc", model="fc", input_name="fc.mlir")
    assert job_key(renamed, "c") == job_key(_job(), "c")


def test_cache_round_trip_and_corrupt_entries(tmp_path):
    cache = ResultCache(tmp_path)
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    result = {"status": "ok", "cycles": 12}
    assert cache.put(key, {"input": "x.mlir"}, result)
    assert cache.get(key) == result
    path = cache.path(key)
    assert path.parent.name == "ab" and path.name == f"{key}.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    for garbage in (
        "",
        "{not json",
        "[]",
        json.dumps({"key": "other", "result": result}),
        json.dumps({"key": key, "result": {"status": "maybe"}}),
    ):
        path.write_text(garbage)
        assert cache.get(key) is None


def test_unwritable_cache_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not ResultCache(blocker).put("cd" + "0" * 62, {}, {"status": "ok"})


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "igoc-bench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "igoc-bench"


def _bench(capsys, model: pathlib.Path, cache: pathlib.Path, out: pathlib.Path):
    status = main(
        [
            "--model",
            str(model),
            "--target",
            "edge",
            "--pipeline",
            "igo",
            "--cache-dir",
            str(cache),
            "--json",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    return status, err, json.loads(out.read_text())


@pytest.fixture
def pinned(monkeypatch):
    """A fixed compiler fingerprint: edits of igoc's source during a test change no key."""
    monkeypatch.setattr("igoc.bench.runner.compiler_fingerprint", lambda: "pinned")


def test_rerun_hits_and_a_changed_input_misses(capsys, tmp_path, pinned):
    model = tmp_path / "fc.mlir"
    model.write_text(LINEAR.read_text())
    cache = tmp_path / "cache"
    status, err, first = _bench(capsys, model, cache, tmp_path / "1.json")
    assert status == 0 and "2 jobs, 0 from the cache, 2 to run" in err
    status, err, again = _bench(capsys, model, cache, tmp_path / "2.json")
    assert status == 0 and "2 jobs, 2 from the cache, 0 to run" in err
    assert again == first
    # Twice the rows: a different program, so both jobs run again and give other figures.
    model.write_text(LINEAR.read_text().replace("tensor<4x", "tensor<8x"))
    status, err, changed = _bench(capsys, model, cache, tmp_path / "3.json")
    assert status == 0 and "2 jobs, 0 from the cache, 2 to run" in err
    assert changed["runs"][0]["macs"] == 2 * first["runs"][0]["macs"]


def test_corrupt_entries_are_recomputed(capsys, tmp_path, pinned):
    model = tmp_path / "fc.mlir"
    model.write_text(LINEAR.read_text())
    cache = tmp_path / "cache"
    _, _, first = _bench(capsys, model, cache, tmp_path / "1.json")
    entries = _results(cache)
    assert len(entries) == 2
    entries[0].write_text('{"key": "trunc')
    status, err, again = _bench(capsys, model, cache, tmp_path / "2.json")
    assert status == 0 and "2 jobs, 1 from the cache, 1 to run" in err
    assert again == first
    assert json.loads(entries[0].read_text())["result"]["status"] == "ok"


def _results(cache: pathlib.Path) -> list[pathlib.Path]:
    """The result entries of a cache folder (not the decisions beside them)."""
    return sorted(p for p in cache.rglob("*.json") if "decisions" not in p.parts)


def test_an_edited_result_is_not_believed(capsys, tmp_path, pinned):
    model = tmp_path / "fc.mlir"
    model.write_text(LINEAR.read_text())
    cache = tmp_path / "cache"
    _, _, first = _bench(capsys, model, cache, tmp_path / "1.json")
    entry_path = _results(cache)[0]
    entry = json.loads(entry_path.read_text())
    entry["result"]["cycles"] = 1
    entry_path.write_text(json.dumps(entry))
    status, err, again = _bench(capsys, model, cache, tmp_path / "2.json")
    assert status == 0 and "2 jobs, 1 from the cache, 1 to run" in err
    assert "1 cache entry failed the integrity check" in err and str(entry_path) in err
    assert again == first
    assert all(run["cycles"] > 1 for run in again["runs"])
    assert json.loads(entry_path.read_text())["result"]["cycles"] > 1


def test_the_hash_covers_key_job_and_result(tmp_path):
    cache = ResultCache(tmp_path)
    key = "ef" + "0" * 62
    assert cache.put(key, {"input": "x.mlir"}, {"status": "ok", "cycles": 12})
    path = cache.path(key)
    for field, value in (("job", {"input": "y.mlir"}), ("result", {"status": "ok", "cycles": 1})):
        entry = json.loads(path.read_text())
        entry[field] = value
        path.write_text(json.dumps(entry))
        assert cache.get(key) is None
        assert cache.put(key, {"input": "x.mlir"}, {"status": "ok", "cycles": 12})
    assert cache.rejected == [path, path]
    assert cache.get(key) == {"status": "ok", "cycles": 12}


def test_no_cache_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    status = main(
        [
            "--model",
            str(LINEAR),
            "--target",
            "edge",
            "--pipeline",
            "baseline",
            "--no-cache",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0 and err == "" and "linear" in out
    assert not (tmp_path / "xdg").exists()


def test_a_result_reads_back_in_its_own_key_order(tmp_path):
    """Tables list a result's per-tensor figures in the order the result gives them."""
    cache = ResultCache(tmp_path)
    key = "12" + "0" * 62
    result = {"status": "ok", "traffic": {"x": 1, "w": 2, "dy": 3}}
    assert cache.put(key, {"input": "x.mlir"}, result)
    assert list(cache.get(key)["traffic"]) == ["x", "w", "dy"]


def test_layers_print_the_same_from_the_cache(capsys, tmp_path, pinned):
    """``--layers`` from a cold cache and from a warm one: the same text, tensors in the
    order the program declares them."""
    conv = LINEAR.parent / "conv3x3.mlir"
    args = ["--model", str(conv), "--target", "edge", "--pipeline", "igo", "--layers", "-q"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    cold = capsys.readouterr().out
    assert main(args) == 0
    warm = capsys.readouterr().out
    assert warm == cold
    row = next(line for line in cold.splitlines() if "dy=" in line)
    assert row.index(" x=") < row.index(" w=") < row.index(" dy=")
