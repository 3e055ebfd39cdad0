"""What a benchmark runs: the targets with their batches, and the workloads on each.

A *target run* is one NPU (a preset or a TOML file, possibly with its
``psum_bytes`` replaced) with the batch its workloads are written for: the
paper used batch 4 on the edge NPU and 8 per core on the server NPUs, so
``edge`` runs ``<model>-b4.mlir``, ``server`` ``-b8`` and ``server-4c``
``-b32``. A *workload* is one model at that batch: its text comes from
``samples/models/<model>-b<batch>.mlir`` when that file exists, and is
rendered from the zoo's layer table otherwise (any batch works), or it is a
user's own ``.mlir`` file.

Models are named by the paper's column labels (``res``, ``yolo``; the edge or
server variant is chosen per target), by the zoo's model names (``resnet50``,
``yolov2-tiny``; that very model on every target), or by a path.
"""

from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

from igoc.target import Target
from igoc.zoo.models import (
    BUILDERS,
    EDGE_BATCH,
    NETWORKS,
    SERVER_BATCH,
    Network,
    sample_name,
)

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
    target: Target  # the machine, psum_bytes applied
    variant: str  # "edge" or "server": which model of a network it runs
    batch: int  # samples per step, over all cores

    @property
    def name(self) -> str:
        """The target's own name (``edge``, or the ``name`` key of a TOML file)."""
        return self.target.name


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


def target_run(spec: str, psum_bytes: int | None = None, batch: int | None = None) -> TargetRun:
    """The target run of a preset name or TOML path (``TargetError`` if the file is bad).

    An unknown preset name (a spec that is neither a preset nor an existing or
    ``.toml`` path) raises :class:`BenchUsageError` listing the presets.
    """
    from igoc.target import load_target, preset_names

    presets = preset_names()
    if spec not in presets and not spec.endswith(".toml") and not pathlib.Path(spec).exists():
        raise BenchUsageError(
            f"unknown target '{spec}'; targets: {', '.join(presets)}, or the path of a .toml file"
        )
    target = load_target(spec)
    if psum_bytes is not None and psum_bytes != target.psum_bytes:
        target = dataclasses.replace(target, psum_bytes=psum_bytes)
    variant = "edge" if target.name.startswith("edge") else "server"
    if batch is None:
        batch = EDGE_BATCH if variant == "edge" else SERVER_BATCH * target.cores
    return TargetRun(spec, target, variant, batch)


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
