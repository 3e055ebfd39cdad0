"""What a benchmark runs: the targets with their batches, and the workloads on each.

A *target run* is one NPU (a preset or a TOML file, possibly with some keys
replaced by settings: ``--set``, one point of a ``--sweep``) with the variant
of the networks and the batch it runs, which are keys of the target
(``variant``, ``batch``; see :mod:`igoc.target.spec`): the paper used batch 4
on the edge NPU and 8 per core on the server NPUs, so ``edge`` runs
``<model>-b4.mlir``, ``server`` ``-b8`` and ``server-4c`` ``-b32``. A
*workload* is one model at that batch: its text comes from
``samples/models/<model>-b<batch>.mlir`` when that file exists, and is
rendered from the zoo's layer table otherwise (any batch works), or it is a
user's own ``.mlir`` file.

Models are named by the paper's column labels (``res``, ``yolo``; the edge or
server variant is chosen per target), by the zoo's model names (``resnet50``,
``yolov2-tiny``; that very model on every target), or by a path.
"""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from igoc.target import Target, TargetError
from igoc.zoo.models import BUILDERS, NETWORKS, Network, sample_name

Setting = tuple[str, object]
"""A target key and the value that replaces it."""

Sweep = tuple[str, list]
"""A target key and the values it takes, one target run each."""

DEFAULT_TARGETS = ("edge", "server", "server-4c")
"""The targets of a full run: the paper's edge NPU, its server NPU with one and four cores."""

QUICK_MODELS = ("ncf", "dlrm")
"""``--quick``: the two smallest networks ..."""

QUICK_TARGETS = ("edge", "server")
"""... on the edge and the one-core server NPU: a few seconds per pipeline."""


class BenchUsageError(Exception):
    """A name that igoc-bench does not know (bad usage, exit 2)."""


@dataclass(frozen=True)
class TargetRun:
    """One NPU of a benchmark and the batch its workloads are written for."""

    spec: str  # what the user named: a preset or a .toml path
    target: Target  # the machine, settings applied
    variant: str  # "edge" or "server": which model of a network it runs
    batch: int  # samples per step, over all cores

    @property
    def name(self) -> str:
        """The target's own name (``edge``, or the ``name`` key of a TOML file)."""
        return self.target.name

    def keys(self) -> dict[str, str | int | float | bool]:
        """The target's full description: every key of the machine, then variant and batch."""
        return {**self.target.as_dict(), "variant": self.variant, "batch": self.batch}


@dataclass(frozen=True)
class ModelChoice:
    """A model as the user named it: a network, one zoo model, or a file."""

    label: str  # the row's name in the tables: network label, model name, or file stem
    network: Network | None = None  # a network: the variant follows the target
    model: str | None = None  # one zoo model on every target
    path: pathlib.Path | None = None  # a user's file, the same on every target


@dataclass(frozen=True)
class Workload:
    """One model at one batch, ready to compile."""

    row: str  # the row label (network label such as ``res``, model name, or file stem)
    model: str  # the model that runs (``resnet50``), or the file stem
    batch: int | None  # None for a user's file
    input_name: str  # a file name to show (``resnet50-b8.mlir``), never an absolute path
    text: str  # the MLIR text


def samples_dir() -> pathlib.Path:
    """``samples/models`` of the source tree igoc runs from, else of the current directory."""
    root = pathlib.Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "samples" / "models").is_dir():
        return root / "samples" / "models"
    return pathlib.Path("samples") / "models"


# ---- targets ------------------------------------------------------------------------------------


def target_run(spec: str, settings: Sequence[Setting] = ()) -> TargetRun:
    """The target run of a preset name or TOML path with ``settings`` applied.

    ``TargetError`` if the file is bad or leaves ``variant`` or ``batch``
    unsaid; an unknown preset name (a spec that is neither a preset nor an
    existing or ``.toml`` path) raises :class:`BenchUsageError` listing the presets.
    """
    from igoc.target import load_spec, preset_names

    presets = preset_names()
    if spec not in presets and not spec.endswith(".toml") and not pathlib.Path(spec).exists():
        raise BenchUsageError(
            f"unknown target '{spec}'; targets: {', '.join(presets)}, or the path of a .toml file"
        )
    described = load_spec(spec, settings)
    needed = (
        ("variant", described.variant, "edge or server: which variant of the networks runs"),
        ("batch", described.batch, "samples per training step"),
    )
    for key, value, meaning in needed:
        if value is None:
            raise TargetError(
                f"{spec}: igoc-bench needs key '{key}' ({meaning}); give it, or derive the "
                'file from a preset: base = "edge"'
            )
    assert described.variant is not None and described.batch is not None
    return TargetRun(spec, described.target, described.variant, described.batch)


def target_runs(
    specs: Sequence[str], settings: Sequence[Setting] = (), sweeps: Sequence[Sweep] = ()
) -> list[TargetRun]:
    """Every target run of a benchmark: each target, at each point of the sweeps.

    The points are the product of the swept keys' values, the first key
    outermost; each point's settings come after ``settings`` (a key may not be
    both set and swept). Equal target runs appear once; two others of one name are
    bad usage (the tables would not tell them apart).
    """
    swept = [key for key, _ in sweeps]
    for key in swept:
        if swept.count(key) > 1:
            raise BenchUsageError(f"--sweep: key '{key}' is swept twice")
        if key in dict(settings):
            raise BenchUsageError(f"key '{key}' is both set and swept")
    axes = [[(key, value) for value in values] for key, values in sweeps]
    runs: dict[tuple[str, str, str, int], TargetRun] = {}
    for spec in dict.fromkeys(specs):
        for point in itertools.product(*axes):
            run = target_run(spec, [*settings, *point])
            runs.setdefault((run.target.to_toml(), run.variant, run.spec, run.batch), run)
    named: dict[str, TargetRun] = {}  # the tables tell targets apart by their names
    for run in runs.values():
        first = named.setdefault(run.name, run)
        if first is not run:
            raise BenchUsageError(
                f"targets '{first.spec}' and '{run.spec}' are both named '{run.name}'; "
                "give a target file another name (its key 'name')"
            )
    return list(runs.values())


# ---- models -------------------------------------------------------------------------------------


def model_names() -> list[str]:
    """Every name ``--model`` takes: the network labels, then the zoo's model names."""
    labels = [network.label.lower() for network in NETWORKS]
    return labels + [name for name in BUILDERS if name not in labels]


def model_choice(name: str) -> ModelChoice:
    """The model a ``--model`` argument names; :class:`BenchUsageError` if none."""
    for network in NETWORKS:
        if name.lower() == network.label.lower():
            return ModelChoice(label=network.label, network=network)
    if name in BUILDERS:
        return ModelChoice(label=name, model=name)
    if name.endswith(".mlir"):  # read later: a missing file is an input error
        path = pathlib.Path(name)
        return ModelChoice(label=path.stem, path=path)
    raise BenchUsageError(
        f"unknown model '{name}'; models: {', '.join(model_names())}, or the path of a .mlir file"
    )


def network_label(text: str) -> str:
    """An argparse ``type`` for the benchmark scripts: one of the nine networks' labels, in
    any case (``t5`` is ``T5``)."""
    import argparse

    labels = [network.label for network in NETWORKS]
    for label in labels:
        if text.lower() == label.lower():
            return label
    raise argparse.ArgumentTypeError(f"unknown network '{text}'; networks: {' '.join(labels)}")


def add_network_arguments(parser) -> None:
    """``--target`` and ``--model`` as the benchmark scripts take them (``python -m
    igoc.bench.dyonce``, ``.dma_order``): presets or target files, network labels."""
    labels = [network.label for network in NETWORKS]
    parser.add_argument(
        "--target",
        nargs="+",
        default=list(DEFAULT_TARGETS),
        metavar="TARGET",
        help="presets or .toml files, as igoc-bench's --target "
        f"(default: {' '.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument(
        "--model",
        nargs="+",
        type=network_label,
        metavar="NETWORK",
        help=f"only these networks (default: all nine: {' '.join(labels)})",
    )


def check_targets(parser, targets: Sequence[str], settings: Sequence[Setting] = ()) -> None:
    """Each target with ``settings`` applied, or the parser's usage error (exit 2)."""
    for spec in targets:
        try:
            target_run(spec, settings)
        except (BenchUsageError, TargetError) as err:
            parser.error(str(err))


def default_models(quick: bool = False) -> list[ModelChoice]:
    """The networks of a full run (all nine), or of ``--quick``."""
    names = QUICK_MODELS if quick else [network.label for network in NETWORKS]
    return [model_choice(name) for name in names]


def workload(choice: ModelChoice, run: TargetRun, models_dir: pathlib.Path) -> Workload:
    """The workload a model choice stands for on a target run (``OSError`` if unreadable)."""
    if choice.path is not None:
        return Workload(choice.label, choice.path.stem, None, choice.path.name, _read(choice.path))
    if choice.network is not None:
        model = choice.network.edge if run.variant == "edge" else choice.network.server
    else:
        assert choice.model is not None
        model = choice.model
    name = sample_name(model, run.batch)
    path = models_dir / name
    text = _read(path) if path.is_file() else render(model, run.batch)
    return Workload(choice.label, model, run.batch, name, text)


def render(model: str, batch: int) -> str:
    """The text the zoo's generator writes for a model at a batch."""
    from igoc.zoo.models import model as zoo_model
    from igoc.zoo.render import render_model

    source_module = BUILDERS[model].__module__.replace(".", "/") + ".py"
    return render_model(zoo_model(model), batch, source_module)


def _read(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8")
