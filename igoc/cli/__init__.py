"""Command-line entry points (thin wrappers): igoc, igoc-opt, igoc-sim, igoc-objdump, igoc-as,
igoc-bench.

Owns argument parsing, exit statuses and writing outputs; the work is done by
``api``, ``pipeline``, ``sim``, ``isa`` and ``bench``, which it may import (as any
package of igoc); nothing imports it.
"""
