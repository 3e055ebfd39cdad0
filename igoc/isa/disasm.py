"""NPU assembly text of a program: what ``igoc-objdump`` prints (``igoc.isa.asm`` reads it).

The syntax is in ``igoc/isa/README.md``. The text is deterministic and complete:
``parse_assembly(format_program(p))`` encodes to the same bytes as ``p``.
"""

from __future__ import annotations

import json
import re

from igoc.isa import instructions as ins
from igoc.isa.program import Label, Program
from igoc.target import Target, load_target, preset_names

DTYPES = {d.mlir_name: d for d in ins.DType}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def _name(text: str) -> str:
    return text if IDENT.match(text) and text not in DTYPES else json.dumps(text)


def _target_text(target: Target) -> list[str]:
    for name in preset_names():
        if load_target(name) == target:
            return [f".target {name}"]
    return [".target {", *target.to_toml().splitlines(), "}"]


def _markers_work(program: Program) -> bool:
    """Whether ``.label``/``.end`` markers give back ``program.labels`` in the same order."""
    keys = [(lab.core, lab.first) for lab in program.labels]
    if keys != sorted(keys):
        return False
    for core in range(program.target.cores):
        mine = [lab for lab in program.labels if lab.core == core]
        events = []
        for j, lab in enumerate(mine):
            events.append((lab.first, 0, j))
            events.append((lab.last, 1, j))
        open_by_name: dict[str, list[int]] = {}
        for _, what, j in sorted(events, key=lambda e: (e[0], e[1], e[2] if e[1] == 0 else -e[2])):
            lab = mine[j]
            if what == 0:
                open_by_name.setdefault(lab.name, []).append(j)
            elif open_by_name[lab.name].pop() != j:
                return False
    return True


def format_instruction(inst: ins.Instruction, program: Program) -> str:
    """One instruction in assembly syntax."""
    tensors = program.tensors

    def pos(tensor: int, offset: int, stride: int) -> str:
        decl = tensors[tensor] if tensor < len(tensors) else None
        name = _name(decl.name) if decl else f"%{tensor}"
        default = decl.shape[-1] if decl else 0
        extra = "" if stride == default else f" stride={stride}"
        if stride == 0:
            return f"{name}[elem {offset}]", extra
        row, col = divmod(offset, stride)
        return f"{name}[row {row}, col {col}]", extra

    def tname(tensor: int) -> str:
        return _name(tensors[tensor].name) if tensor < len(tensors) else f"%{tensor}"

    kind = type(inst)
    if kind is ins.Load:
        where, extra = pos(inst.tensor, inst.dram_offset_elems, inst.row_stride_elems)
        text = f"load {where} rows={inst.rows} cols={inst.cols}{extra}"
        text += f" -> spm {inst.spm_addr:#x} {inst.spm_dtype.mlir_name}"
        return text + (" transpose" if inst.transpose else "")
    if kind is ins.Store:
        where, extra = pos(inst.tensor, inst.dram_offset_elems, inst.row_stride_elems)
        text = f"store spm {inst.spm_addr:#x} {inst.spm_dtype.mlir_name} -> {where}"
        text += f" rows={inst.rows} cols={inst.cols}{extra}"
        text += " accumulate" if inst.accumulate else ""
        text += " zero" if inst.zero else ""
        return text + (" transpose" if inst.transpose else "")
    if kind is ins.Gather:
        text = f"gather {tname(inst.tensor)} conv c{inst.conv} [m {inst.m_start}, k {inst.k_start}]"
        text += f" rows={inst.rows} cols={inst.cols} -> spm {inst.spm_addr:#x}"
        text += f" {inst.spm_dtype.mlir_name}"
        return text + (" transpose" if inst.transpose else "")
    if kind is ins.Scatter:
        text = f"scatter spm {inst.spm_addr:#x} {inst.spm_dtype.mlir_name} -> {tname(inst.tensor)}"
        text += f" conv c{inst.conv} [m {inst.m_start}, k {inst.k_start}]"
        text += f" rows={inst.rows} cols={inst.cols}"
        return text + ("" if inst.accumulate else " overwrite")
    if kind is ins.Matmul:
        op = "+=" if inst.accumulate else "="
        text = f"matmul spm {inst.c_addr:#x} {inst.c_dtype.mlir_name} {op} spm {inst.a_addr:#x}"
        text += f" * spm {inst.b_addr:#x} {inst.in_dtype.mlir_name}"
        text += f" m={inst.m} k={inst.k} n={inst.n}"
        text += " transpose_a" if inst.transpose_a else ""
        return text + (" transpose_b" if inst.transpose_b else "")
    if kind is ins.Barrier:
        cores = ",".join(
            str(c) for c in range(inst.core_mask.bit_length()) if inst.core_mask >> c & 1
        )
        if not cores:
            return f"barrier {inst.barrier_id} mask=0"
        return f"barrier {inst.barrier_id} cores {cores}"
    if kind is ins.Halt:
        return "halt"
    raise TypeError(f"not an instruction: {inst!r}")


def format_program(program: Program) -> str:
    """The program as assembly text (deterministic; ``parse_assembly`` reads it back)."""
    lines = [
        "; igoc NPU program",
        f"; {len(program.tensors)} tensor(s), {len(program.convs)} conv(s), "
        f"{len(program.streams)} core(s), {program.instruction_count} instruction(s)",
    ]
    lines += _target_text(program.target)
    for t in program.tensors:
        shape = ", ".join(str(d) for d in t.shape)
        lines.append(
            f".tensor {_name(t.name)} {t.role} {t.dtype.mlir_name} [{shape}] @ {t.address:#x}"
        )
    for i, g in enumerate(program.convs):
        lines.append(
            f".conv c{i} [{g.batch}, {g.channels}, {g.height}, {g.width}]"
            f" kernel=[{g.kernel_h}, {g.kernel_w}] stride=[{g.stride_h}, {g.stride_w}]"
            f" pad=[{g.pad_h}, {g.pad_w}] dilation=[{g.dilation_h}, {g.dilation_w}]"
        )
    if program.reference is not None:
        lines.append(".reference " + json.dumps(program.reference, sort_keys=True))
    if program.meta:
        lines.append(".meta " + json.dumps(program.meta, sort_keys=True))
    markers = _markers_work(program)
    if not markers:
        for lab in program.labels:
            lines.append(
                f".label {_name(lab.name)} core={lab.core} first={lab.first} last={lab.last}"
            )
    for core, stream in enumerate(program.streams):
        lines.append("")
        lines.append(f".core {core}")
        starts: dict[int, list[Label]] = {}
        ends: dict[int, list[Label]] = {}
        if markers:
            for lab in program.labels:
                if lab.core == core:
                    starts.setdefault(lab.first, []).append(lab)
                    ends.setdefault(lab.last, []).insert(0, lab)
        for i, inst in enumerate(stream):
            for lab in starts.get(i, ()):
                lines.append(f".label {_name(lab.name)}")
            lines.append(f"    {format_instruction(inst, program):<72} ; {i}")
            for lab in ends.get(i, ()):
                lines.append(f".end {_name(lab.name)}")
    return "\n".join(lines) + "\n"
