"""Value names as the user wrote them.

xDSL's ``name_hint`` setter drops one ``_<digits>`` suffix (``%dy_1`` becomes
``dy``) so that its printer, which numbers colliding names ``dy``, ``dy_1``, ...,
prints a parsed module back as it read it. That loses the names a user chose:
``%x_1`` and ``%x_2`` would both be ``x`` in IR dumps and in igoc-sim's DRAM
traffic per tensor. igoc keeps names whole instead (``set_name``), and its
printer (``igoc.frontend.printer``) numbers only names that collide, skipping
every name already printed in the scope, so that what it prints parses back to
the same names and prints the same text again. What xDSL itself makes keeps its
rule: a module read by ``xdsl-opt``, or copied by ``Operation.clone``, has the
suffixes dropped (its names print as xDSL numbers them).
"""

from __future__ import annotations

from xdsl.ir import SSAValue


def set_name(value: SSAValue, name: str | None) -> None:
    """Give ``value`` the name hint ``name`` exactly (``None`` clears it).

    The name is checked as the setter checks it (characters of ``[A-Za-z0-9_$.-]``,
    not starting with a digit; ``ValueError`` otherwise), but no suffix is dropped.
    """
    if not SSAValue.is_valid_name(name):
        value.name_hint = name  # raises xDSL's own ValueError for the name
    value._name = name  # the setter would drop a "_<digits>" suffix


def fresh_name(taken: dict[str, int], hint: str) -> str:
    """The name to print for a value hinted ``hint``, recorded in ``taken``.

    ``taken`` maps every name printed in the scope (and every hint numbered) to
    the next number to try for it: the hint itself when free, else the first
    ``hint_<n>`` (n = 1, 2, ...) that is free.
    """
    if hint not in taken:
        taken[hint] = 1
        return hint
    n = taken[hint]
    while f"{hint}_{n}" in taken:
        n += 1
    taken[hint] = n + 1
    name = f"{hint}_{n}"
    taken[name] = 1
    return name
