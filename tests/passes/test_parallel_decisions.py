"""Ops decided side by side in worker processes (``igoc.cost.parallel``): the same program."""

from __future__ import annotations

import multiprocessing
import pathlib

import pytest

from igoc import pipeline
from igoc.api import compile_text
from igoc.cli.igoc import main
from igoc.cost import parallel
from igoc.cost.decide import has_context, select_order
from igoc.cost.search import Search
from igoc.cost.session import Session
from igoc.dialects.npu import stamp_target
from igoc.dialects.views import TrainingLayers
from igoc.frontend import parse_text
from igoc.isa.npufile import encode_program
from igoc.target import load_target

MODELS = pathlib.Path(__file__).resolve().parents[2] / "samples" / "models"

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork here: decided in order"
)


@pytest.mark.parametrize("target", ["edge", "server-2c"])
def test_workers_give_the_program_of_one_process(target, monkeypatch):
    """DLRM's eight layers, by one process and by three: the same .npu bytes (the same
    schedules and the same candidates recorded for every op); the workers did decide."""
    text = (MODELS / "dlrm-b4.mlir").read_text()
    alone = compile_text(text, target, "igo", session=Session(single=True, jobs=1))
    decided, original = [], parallel.prefetch

    def counted(*args, **kwargs):
        decided.append(original(*args, **kwargs))
        return decided[-1]

    monkeypatch.setattr(parallel, "prefetch", counted)
    together = compile_text(text, target, "igo", session=Session(single=True, jobs=3))
    assert encode_program(together) == encode_program(alone)
    assert len(decided) == 2 and decided[0] >= parallel.MIN_REQUESTS


def _requests(target_name: str):
    """select-order's requests for DLRM's ops weighed alone, as the pass makes them."""
    target = load_target(target_name)
    module = parse_text((MODELS / "dlrm-b4.mlir").read_text(), "dlrm-b4.mlir")
    stamp_target(module, target)
    pipeline.run(module, pipeline.steps_until(pipeline.build_pipeline("igo", None), "tiled"))
    layers = TrainingLayers.of(module, target)
    return target, [
        (select_order, layers.schedule(i).discipline(), (desc, "cost"))
        for i, desc in enumerate(layers.descs)
        if not has_context(layers.descs, i, target.spm_bytes)
    ]


def test_prefetched_decisions_are_the_decisions_made_in_order():
    target, requests = _requests("edge")
    assert len(requests) >= parallel.MIN_REQUESTS
    search = Search(target, disk=False)
    assert parallel.prefetch(search, requests, jobs=2) == len(requests)
    fresh = Search(target, disk=False)
    for decide, discipline, args in requests:
        made = decide(fresh.under(*discipline), *args)
        assert decide(search.under(*discipline), *args) == made
    assert search._decisions.keys() >= {k for k in fresh._decisions if k[0] == "order"}


def _fails(search, desc):
    raise ValueError(f"cannot decide {desc.name}")


def test_a_request_that_fails_is_left_to_the_pass():
    """A worker's error does not stop the others; the request is simply not prefetched (the
    pass then decides it in order and reports the error at its op)."""
    target, requests = _requests("edge")
    bad = (_fails, ("search", "belady"), (requests[0][2][0],))
    search = Search(target, disk=False)
    assert parallel.prefetch(search, [bad, *requests], jobs=2) == len(requests)
    assert parallel.prefetch(search, requests[:2], jobs=2) == 0  # too few to start workers
    assert parallel.prefetch(search, requests, jobs=1) == 0


@pytest.mark.parametrize(("value", "message"), [("-1", "-1 is negative"), ("two", "'two' is not")])
def test_jobs_must_be_a_number_of_processes(value, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["x.mlir", "--jobs", value])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_search_absorbs_what_another_remembered_keeping_its_own():
    target = load_target("edge")
    mine, other = Search(target, disk=False), Search(target, disk=False)
    mine._decisions["a"] = "mine"
    other._decisions.update(a="other", b="other")
    other.walks["w"] = "estimate"
    mine.absorb(other.memory())
    assert mine._decisions == {"a": "mine", "b": "other"} and mine.walks == {"w": "estimate"}
    assert set(other.memory()) == set(Search.MEMORIES)
