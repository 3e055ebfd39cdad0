"""How the ``cost`` policy picks among candidates (``decide._pick``), on made-up estimates."""

from __future__ import annotations

from igoc.cost.decide import COST_MARGIN, _pick, describe_candidate
from igoc.cost.model import Estimate
from igoc.cost.search import Candidate
from igoc.schedule.layer_schedule import LayerSchedule
from igoc.schedule.steps import Tiling

SMALL, LARGE = Tiling(16, 32, 8), Tiling(16, 64, 8)
BASE = LayerSchedule(("dx", "dw"), "sequential", (SMALL, SMALL), loops=("ijl", "ijl"))


def fused(order: str, tiling: Tiling = SMALL) -> LayerSchedule:
    return LayerSchedule(("dx", "dw"), order, (tiling, tiling))


def cand(schedule: LayerSchedule, cycles: float, dram_bytes: int = 1000) -> Candidate:
    return Candidate(schedule, Estimate(cycles, {"dy": [dram_bytes, 0]}))


class Simulator:
    """A ``confirm`` whose simulated cycles are given per schedule; it records what it ran."""

    def __init__(self, cycles: dict[LayerSchedule, int]):
        self.cycles = cycles
        self.runs: list[list[LayerSchedule]] = []

    def __call__(self, base: Candidate, contenders: list[Candidate]) -> list[int]:
        self.runs.append([c.schedule for c in contenders])
        return [self.cycles[c.schedule] for c in (base, *contenders)]


def pick(cands: list[Candidate], confirm=None) -> LayerSchedule:
    return _pick(cands, [describe_candidate(c) for c in cands], False, BASE, confirm)


def test_the_second_contender_is_one_the_cost_model_tells_apart():
    """dx-major and dw-major with the same tiles and estimates walk the same steps here:
    the simulator weighs the next different one instead."""
    cands = [
        cand(BASE, 1000),
        cand(fused("dx-major"), 900),
        cand(fused("dw-major"), 900),
        cand(fused("only-interleaving", LARGE), 910),
    ]
    sim = Simulator({BASE: 1000, fused("dx-major"): 990, fused("only-interleaving", LARGE): 950})
    assert pick(cands, sim) == fused("only-interleaving", LARGE)
    assert sim.runs == [[fused("dx-major"), fused("only-interleaving", LARGE)]]


def test_a_candidate_estimated_a_little_slower_is_simulated():
    slower = 1000 * (1 + COST_MARGIN) - 1
    cands = [cand(BASE, 1000), cand(fused("only-interleaving"), slower)]
    sim = Simulator({BASE: 1000, fused("only-interleaving"): 980})
    assert pick(cands, sim) == fused("only-interleaving")
    sim = Simulator({BASE: 1000, fused("only-interleaving"): 1000})
    assert pick(cands, sim) == BASE  # not faster: the baseline's schedule stays


def test_a_candidate_estimated_much_slower_is_not_simulated():
    cands = [cand(BASE, 1000), cand(fused("only-interleaving"), 1000 * (1 + COST_MARGIN) + 1)]
    sim = Simulator({})
    assert pick(cands, sim) == BASE
    assert sim.runs == []


def test_without_the_simulator_another_must_be_estimated_clearly_faster():
    just = 1000 * (1 - COST_MARGIN) - 1
    assert pick([cand(BASE, 1000), cand(fused("dx-major"), just)]) == fused("dx-major")
    assert pick([cand(BASE, 1000), cand(fused("dx-major"), just + 2)]) == BASE


def test_a_contender_that_does_not_fit_where_it_runs_is_set_aside():
    """The simulator plans the op's whole program (every core, every group, the op before);
    a schedule that does not fit there (None) is marked and never picked, however fast its
    estimate; the other contender is weighed as usual."""
    fast, other = fused("dx-major"), fused("only-interleaving", LARGE)
    cands = [cand(BASE, 1000), cand(fast, 900), cand(other, 950)]
    rows = [describe_candidate(c) for c in cands]
    sim = Simulator({BASE: 1000, fast: None, other: 990})  # type: ignore[dict-item]
    assert _pick(cands, rows, False, BASE, sim) == other
    assert rows[1]["fits_every_core"] is False and "simulated_cycles" not in rows[1]
    assert rows[2]["simulated_cycles"] == 990
    sim = Simulator({BASE: 1000, fast: None, other: 1000})  # type: ignore[dict-item]
    assert pick(cands, sim) == BASE  # the one left is not faster


def test_when_the_baseline_schedule_does_not_fit_a_contender_that_does_is_picked():
    cands = [cand(BASE, 1000), cand(fused("dx-major"), 990)]
    sim = Simulator({BASE: None, fused("dx-major"): 1200})  # type: ignore[dict-item]
    assert pick(cands, sim) == fused("dx-major")
    sim = Simulator({BASE: None, fused("dx-major"): None})  # type: ignore[dict-item]
    assert pick(cands, sim) == BASE  # nothing fits: the lowering says so


def test_exhaustive_never_picks_a_schedule_that_does_not_fit_where_it_runs():
    cands = [cand(BASE, 1000), cand(fused("dx-major"), 900)]
    rows = [describe_candidate(c) for c in cands]
    rows[0]["simulated_cycles"] = 1000
    rows[1]["fits_every_core"] = False
    assert _pick(cands, rows, True, BASE) == BASE
