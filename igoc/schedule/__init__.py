"""Schedules of GEMMs as plain data, and how a schedule becomes instructions.

Owns the GEMM frame of a layer (``layer``, ``describe``), schedules and each
core's walk of them (``layer_schedule``, ``steps``), the SPM planner
(``planner``), emission of planned walks as instructions (``emit``) and whole
programs of layers, copies and barriers (``program``). It decides nothing about
which schedule is best (that is ``cost``'s), and where a walk can be planned two
ways its caller's measure chooses. May import ``isa`` and ``target`` only.
"""
