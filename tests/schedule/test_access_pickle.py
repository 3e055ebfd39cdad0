"""An access keeps its hash once worked out, but does not carry it into another process."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from igoc.isa.instructions import DType
from igoc.schedule.layer import Access

MAKE = "from igoc.isa.instructions import DType\nfrom igoc.schedule.layer import Access\n"


def test_the_cached_hash_is_not_pickled():
    access = Access("x", "rows", DType.F16, 8, 8, 8)
    hash(access)
    assert "_hash" in access.__dict__
    again = pickle.loads(pickle.dumps(access))
    assert "_hash" not in again.__dict__
    assert again == access and hash(again) == hash(access)


def test_an_access_unpickled_under_another_hash_seed_finds_its_equal():
    # Made and hashed in one process, looked up in another whose strings hash otherwise.
    made = MAKE + (
        "import pickle, sys\n"
        "a = Access('x', 'rows', DType.F16, 8, 8, 8)\n"
        "hash(a)\n"
        "sys.stdout.write(pickle.dumps(a).hex())\n"
    )
    looked_up = MAKE + (
        "import pickle, sys\n"
        "a = pickle.loads(bytes.fromhex(sys.stdin.read()))\n"
        "b = Access('x', 'rows', DType.F16, 8, 8, 8)\n"
        "print(a == b, hash(a) == hash(b), a in {b: 0})\n"
    )

    def run(code: str, seed: str, stdin: str = "") -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], input=stdin, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run(looked_up, "2", run(made, "1")).split() == ["True", "True", "True"]
