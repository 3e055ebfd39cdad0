"""igoc: a compiler for the backward pass of DNN training on NPUs.

Its packages import in one direction only: ``errors`` (``IgocError``, the base
of every error about what igoc was given), ``target`` (the machine), ``limits``
(the sizes igoc accepts) and ``output`` (how every file is written) at the very
bottom, then ``isa`` (instructions, the ``.npu`` file, what each instruction
touches and how long a matmul takes); ``sim`` and ``schedule`` on ``isa``;
``cost`` on ``schedule`` (and on ``sim`` through ``cost.oracle`` alone);
``dialects`` (the IR) on ``schedule``'s plain data; ``passes`` on ``dialects``
and ``cost``; then ``pipeline``, ``api``, ``cli`` and ``bench`` on top.
``frontend`` (text to IR) stands beside ``dialects`` (its ``diagnostics``, the
error type every layer reports with, imports nothing); ``importer`` (other
tools' models as igoc input) and ``zoo`` (the networks' tables) stand apart and
write text. Each package's docstring says what it owns and what it may import.
"""

__version__ = "0.1.0"
