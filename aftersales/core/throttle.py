"""Login throttling in Redis, so every web node counts the same attempts.

Every attempt is counted *before* the password is checked, in one Lua
script, so parallel guesses cannot all pass a check-then-increment race:
at most ``PAIR_LIMIT`` guesses per (name, address) and ``ADDRESS_LIMIT``
per address reach argon2 in a window. Counting per address, not per name,
means a stranger hammering the admin's name locks out only themselves.
A third counter per name stops a spread-out attack from many addresses,
but it applies only to addresses where that name has never signed in: a
(name, address) that signed in before is "known good" and keeps working.
Only guesses that pass the first two counters count against the name, so
one address alone cannot lock a name out of new addresses.
A successful sign-in takes its own attempt back off the counters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from arq.connections import ArqRedis

WINDOW_SECONDS = 15 * 60
PAIR_LIMIT = 5
# An office shares one address, so an address gets more tries than a name.
ADDRESS_LIMIT = 20
NAME_LIMIT = 20
KNOWN_GOOD_SECONDS = 90 * 24 * 3600
_PREFIX = "aftersales:login:"

# KEYS: pair, address, name, known-good; ARGV: window, pair, address, name limits.
# Returns the seconds to wait (0: go ahead, the attempt is counted) and whether
# the pair is known good.
_ATTEMPT = """
local known = redis.call('EXISTS', KEYS[4]) == 1
local wait = 0
local function hit(key, limit)
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  if redis.call('INCR', key) > tonumber(limit) then
    local ttl = redis.call('TTL', key)
    if ttl > wait then wait = ttl end
  end
end
hit(KEYS[1], ARGV[2])
hit(KEYS[2], ARGV[3])
-- Only guesses that would reach argon2 count against the name, so one
-- address adds at most its own limit there.
if wait == 0 and not known then hit(KEYS[3], ARGV[4]) end
if known then return {wait, 1} end
return {wait, 0}
"""

# KEYS: pair, address, name, known-good; ARGV: known (0/1), known-good lifetime.
_SUCCESS = """
redis.call('DEL', KEYS[1])
if redis.call('DECR', KEYS[2]) < 0 then redis.call('DEL', KEYS[2]) end
if ARGV[1] == '0' and redis.call('DECR', KEYS[3]) < 0 then redis.call('DEL', KEYS[3]) end
redis.call('SET', KEYS[4], 1, 'EX', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt; ``wait`` > 0 means refuse it without checking."""

    keys: list[str]
    wait: int
    known_good: bool


def _address(ip: str) -> str:
    """An IPv6 client counts by its /64: one host is given a whole /64 to pick from."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _keys(username: str, ip: str) -> list[str]:
    name = username.strip().lower()[:64]
    ip = _address(ip)
    return [
        f"{_PREFIX}pair:{ip}:{name}",
        f"{_PREFIX}ip:{ip}",
        f"{_PREFIX}name:{name}",
        f"{_PREFIX}good:{ip}:{name}",
    ]


async def attempt(
    redis: ArqRedis, username: str, ip: str, *, window: int = WINDOW_SECONDS
) -> Attempt:
    """Count this attempt and say how long to wait if it is one too many."""
    keys = _keys(username, ip)
    limits = (window, PAIR_LIMIT, ADDRESS_LIMIT, NAME_LIMIT)
    # redis-py types eval as "str or awaitable" for its sync and async clients alike.
    reply = await redis.eval(_ATTEMPT, len(keys), *keys, *map(str, limits))  # type: ignore[misc]
    wait, known = reply
    return Attempt(keys=keys, wait=max(int(wait), 0), known_good=bool(known))


async def succeeded(redis: ArqRedis, counted: Attempt) -> None:
    """The password was right: forget this pair's failures and remember the address."""
    known = str(int(counted.known_good))
    args = (known, str(KNOWN_GOOD_SECONDS))
    await redis.eval(_SUCCESS, len(counted.keys), *counted.keys, *args)  # type: ignore[misc]
