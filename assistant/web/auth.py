"""Staff logins: a users file of salted scrypt password hashes, the binding check, and the
throttle that slows password guessing (per client address and user name).

The file (ASSISTANT_USERS) has one user a line, `name:scrypt$n$r$p$salt$hash` (salt and
hash in hex), written by `assistant users add NAME`. Lines starting with `#` are comments.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

from assistant.errors import ConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # ~16 MiB and a few tens of ms per check
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 8


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of the password, with its parameters, as one string."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether password matches a hash made by hash_password (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n),
                                r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual.hex(), digest)


class Users:
    """The users file: who may log in, checked against their password hashes.

    An unknown name is checked against a stand-in hash made once, with the same parameters,
    so a wrong password costs one scrypt whether or not the name exists.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stand_in = hash_password(os.urandom(16).hex())

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        users = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            name, sep, stored = line.partition(":")
            if not sep:
                raise ConfigError(f"{self.path} line {number}: expected NAME:HASH; "
                                  "recreate the user with `assistant users add NAME`")
            users[name.strip()] = stored.strip()
        return users

    def names(self) -> list[str]:
        """The user names, sorted."""
        return sorted(self._read())

    def verify(self, name: str, password: str) -> bool:
        """Whether name is a user and password is theirs."""
        stored = self._read().get(name)
        if stored is None:
            check_password(password, self._stand_in)  # the same work as a known name
            return False
        return check_password(password, stored)

    def add(self, name: str, password: str) -> bool:
        """Add a user or change their password; True when the user is new."""
        if not _NAME.match(name):
            raise ConfigError(f"user name {name!r}: use 1-64 letters, digits, . _ @ or -")
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"password too short: use at least {MIN_PASSWORD} characters")
        users = self._read()
        new = name not in users
        users[name] = hash_password(password)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(f"{n}:{h}\n" for n, h in users.items()), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)
        return new


def load_users(path: str | Path | None) -> Users | None:
    """The users file named by ASSISTANT_USERS, or None when login is off."""
    if path is None or not str(path).strip():
        return None
    users = Users(Path(path))
    if not users.names():
        raise ConfigError(f"ASSISTANT_USERS={path}: no users in that file; add one with "
                          f"`assistant users add NAME`, or unset ASSISTANT_USERS")
    return users


def is_loopback(host: str) -> bool:
    """Whether binding host only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, login: bool) -> str | None:
    """A warning when the server would be reachable from the network without login."""
    if login or is_loopback(host):
        return None
    return (f"warning: serving on {host} without login: anyone who can reach this machine "
            "can read the releases and add or delete them. Set ASSISTANT_USERS to a users "
            "file (`assistant users add NAME`) or bind 127.0.0.1.")


class LoginThrottled(Exception):
    """Too many failed logins from this client: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginThrottle:
    """Failed logins counted per client address and user name over a sliding window.

    After `max_failures` failures of one name from one address within `window_seconds`
    (or four times as many over all names from that address), that pair (or address) is
    refused without checking the password until the oldest of those failures is older than
    the window. Other clients are not affected. At most `max_tracked` keys are remembered,
    least recently failed dropped first, so an attacker cannot grow memory without bound.
    """

    def __init__(self, max_failures: int = 5, window_seconds: float = 300.0,
                 max_tracked: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window, self.max_tracked = max_failures, window_seconds, max_tracked
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str | None], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _limits(self, client: str, name: str) -> list[tuple[tuple[str, str | None], int]]:
        return [((client, name), self.max_failures), ((client, None), 4 * self.max_failures)]

    def retry_after(self, client: str, name: str) -> int:
        """Seconds until client may try name again (0: now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._limits(client, name):
                times = self._failures.get(key, ())
                recent = [t for t in times if now - t < self.window]
                if len(recent) >= limit:
                    wait = max(wait, recent[-limit] + self.window - now)
        return math.ceil(wait)

    def failed(self, client: str, name: str) -> None:
        """Count a failed login."""
        now = self.clock()
        with self._lock:
            for key, limit in self._limits(client, name):
                times = self._failures.pop(key, None) or deque(maxlen=limit)
                times.append(now)
                self._failures[key] = times  # most recent last: the oldest are evicted first
            while len(self._failures) > self.max_tracked:
                self._failures.popitem(last=False)

    @property
    def tracked(self) -> int:
        """How many (address, name) and address keys are remembered (at most max_tracked)."""
        with self._lock:
            return len(self._failures)

    def succeeded(self, client: str, name: str) -> None:
        """Forget the failures of this name from this client."""
        with self._lock:
            self._failures.pop((client, name), None)

    def verify(self, users: Users, client: str, name: str, password: str) -> bool:
        """users.verify, refused with LoginThrottled while client is throttled for name."""
        wait = self.retry_after(client, name)
        if wait:
            raise LoginThrottled(wait)
        if users.verify(name, password):
            self.succeeded(client, name)
            return True
        self.failed(client, name)
        return False
