"""The desk's own password hashes keep argon2's production cost.

The suite lowers the cost for its in-process tests (``tests/conftest.py``);
this asks a fresh interpreter, where nothing lowered it, what a hash costs.
"""

from __future__ import annotations

import subprocess
import sys

import argon2

from aftersales.core import security


def test_a_hash_the_desk_writes_costs_64_mib_and_three_passes() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from aftersales.core import security; print(security.hash_password('x' * 12))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    params = argon2.extract_parameters(done.stdout.strip())
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 65536
    assert params.time_cost >= 3


def test_a_hash_written_at_the_production_cost_still_verifies_in_the_suite() -> None:
    """Hashes carry their own cost: a desk's existing users still sign in."""
    strong = argon2.PasswordHasher().hash("correct horse battery")
    assert security.verify_password(strong, "correct horse battery")
    assert not security.verify_password(strong, "wrong horse battery")
