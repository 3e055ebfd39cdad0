"""The IR of igoc: the grad dialect (what users write), sched (the passes' decisions as
typed attributes) and npu (the target, and the program per core), with the views
and helpers that read and write them.

Owns the ops and attributes, their syntax and their verifiers, and the plain-data
views of them that the passes use (``views``: layers, tensor names, training
order; ``sched``: schedules; ``npu``: the target). May import ``schedule``
(its plain data), ``isa``, ``target``, ``limits`` (checked by the verifiers) and
``frontend`` (the uniform syntax, diagnostics); never ``cost``, ``passes`` or
above.
"""
