"""The passes of igoc, one file per pass, named after its command-line name.

Owns walking and rewriting the IR: each pass reads what it needs through
``dialects``, asks ``cost`` for decisions (or ``schedule`` for plans) and records
the result. May import ``dialects``, ``cost``, ``schedule``, ``isa``, ``target``,
``limits`` and ``frontend`` (diagnostics); never ``pipeline``, the simulator or
another pass.
"""
