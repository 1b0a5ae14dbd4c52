"""Staff logins: salted scrypt hashes in a users file, `assistant users add`, binding checks."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.errors import ConfigError
from assistant.web.auth import (
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    LoginThrottle,
    LoginThrottled,
    Users,
    check_password,
    exposure_warning,
    hash_password,
    is_loopback,
    load_users,
)
from assistant.web.server import page_login


def test_hash_is_salted_and_checks() -> None:
    first, second = hash_password("rahasia-123"), hash_password("rahasia-123")
    assert first != second and first.startswith("scrypt$")
    assert "rahasia" not in first
    assert check_password("rahasia-123", first) and check_password("rahasia-123", second)
    assert not check_password("rahasia-124", first)


@pytest.mark.parametrize("stored", ["", "plain", "md5$x$y", "scrypt$1$2$3$zz$zz",
                                    "scrypt$16384$8$1$00$"])
def test_malformed_hashes_never_match(stored: str) -> None:
    assert not check_password("anything", stored)


def test_users_file_add_verify_and_update(tmp_path: Path) -> None:
    users = Users(tmp_path / "etc" / "users")
    assert users.add("budi", "kata-sandi-1") is True
    assert users.add("sari", "kata-sandi-2") is True
    assert users.add("budi", "kata-sandi-3") is False  # changed password
    assert users.names() == ["budi", "sari"]
    assert users.verify("budi", "kata-sandi-3") and not users.verify("budi", "kata-sandi-1")
    assert users.verify("sari", "kata-sandi-2")
    assert not users.verify("tamu", "kata-sandi-2")
    text = users.path.read_text()
    assert "kata-sandi" not in text and text.count("\n") == 2
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_a_wrong_password_costs_one_scrypt_for_known_and_unknown_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: an unknown name ran scrypt twice (about 80 ms against 43 ms for a known one)
    users = Users(tmp_path / "users")
    users.add("budi", "kata-sandi-1")
    calls: list[tuple[int, int, int]] = []
    scrypt = hashlib.scrypt

    def counted(password: bytes, **options: int) -> bytes:
        calls.append((options["n"], options["r"], options["p"]))
        return scrypt(password, **options)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    for name, password in [("tamu", "salah-sandi"), ("budi", "salah-sandi"),
                           ("tamu", "kata-sandi-1"), ("budi", "kata-sandi-1"), ("x" * 64, "")]:
        calls.clear()
        users.verify(name, password)
        assert calls == [(SCRYPT_N, SCRYPT_R, SCRYPT_P)], name


def test_the_page_checks_passwords_off_the_event_loop(tmp_path: Path) -> None:
    # before: Gradio's /login ran the scrypt check on the event loop, stalling every route
    users = Users(tmp_path / "users")
    users.add("budi", "kata-sandi-1")
    threads: list[int] = []
    verify = users.verify

    def watched(name: str, password: str) -> bool:
        threads.append(threading.get_ident())
        return verify(name, password)

    users.verify = watched  # type: ignore[method-assign]
    login = page_login(users, LoginThrottle())
    assert inspect.iscoroutinefunction(login)  # Gradio awaits it instead of calling it

    async def both() -> tuple[bool, bool, int]:
        return (await login("budi", "kata-sandi-1"), await login("budi", "salah"),
                threading.get_ident())

    right, wrong, loop_thread = asyncio.run(both())
    assert right and not wrong
    assert len(threads) == 2 and loop_thread not in threads


@pytest.mark.parametrize(("name", "password", "message"), [
    ("budi santoso", "kata-sandi-1", "user name"),
    ("budi:x", "kata-sandi-1", "user name"),
    ("budi", "pendek", "too short"),
])
def test_bad_names_and_short_passwords_are_refused(tmp_path: Path, name: str, password: str,
                                                   message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Users(tmp_path / "users").add(name, password)


def test_load_users(tmp_path: Path) -> None:
    assert load_users(None) is None and load_users("") is None
    with pytest.raises(ConfigError, match="assistant users add"):
        load_users(tmp_path / "missing")
    (tmp_path / "broken").write_text("no colon here\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_users(tmp_path / "broken")
    Users(tmp_path / "users").add("budi", "kata-sandi-1")
    loaded = load_users(str(tmp_path / "users"))
    assert loaded is not None and loaded.verify("budi", "kata-sandi-1")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.10", False), ("::", False), ("example.test", False),
])
def test_binding_outside_loopback_without_login_warns(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    warning = exposure_warning(host, login=False)
    assert (warning is None) is loopback
    if warning:
        assert "ASSISTANT_USERS" in warning and host in warning
    assert exposure_warning(host, login=True) is None


def test_cli_users_add_prompts_for_the_password(tmp_path: Path) -> None:
    path = tmp_path / "users"
    result = CliRunner().invoke(main, ["users", "add", "budi"],
                                input="kata-sandi-1\nkata-sandi-1\n",
                                env={"ASSISTANT_USERS": str(path)})
    assert result.exit_code == 0, result.output
    assert "added user budi" in result.output
    assert Users(path).verify("budi", "kata-sandi-1")
    mismatch = CliRunner().invoke(main, ["users", "add", "sari", "--file", str(path)],
                                  input="kata-sandi-1\nlain-sandi-2\n" * 3)
    assert mismatch.exit_code != 0 and "sari" not in path.read_text()


def test_cli_users_add_needs_a_file() -> None:
    result = CliRunner().invoke(main, ["users", "add", "budi"], input="x\nx\n",
                                env={"ASSISTANT_USERS": ""})
    assert result.exit_code != 0 and "ASSISTANT_USERS" in result.output


def test_cli_serve_refuses_an_empty_users_file(tmp_path: Path) -> None:
    (tmp_path / "users").write_text("")
    result = CliRunner().invoke(main, ["serve"], env={"ASSISTANT_USERS": str(tmp_path / "users"),
                                                      "ASSISTANT_INDEX_DIR": str(tmp_path / "i"),
                                                      "ASSISTANT_EMBEDDER": "fake"})
    assert result.exit_code != 0 and "no users" in result.output


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_refuses_a_guesser_for_the_window_and_spares_everyone_else(
        tmp_path: Path) -> None:
    users = Users(tmp_path / "users")
    users.add("budi", "kata-sandi-1")
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert not throttle.verify(users, "10.0.0.9", "budi", "salah")
        clock.now += 1
    with pytest.raises(LoginThrottled) as refused:  # even the right password, while throttled
        throttle.verify(users, "10.0.0.9", "budi", "kata-sandi-1")
    assert refused.value.retry_after == 57  # until the first of the 3 failures is 60 s old
    assert throttle.verify(users, "10.0.0.7", "budi", "kata-sandi-1")  # another client
    clock.now += 57
    assert throttle.verify(users, "10.0.0.9", "budi", "kata-sandi-1")  # the window has passed


def test_throttle_counts_every_name_from_one_address(tmp_path: Path) -> None:
    users = Users(tmp_path / "users")
    users.add("budi", "kata-sandi-1")
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=Clock())
    for n in range(8):  # spraying names: 2 per name is never reached, 4 x 2 over all is
        assert not throttle.verify(users, "10.0.0.9", f"user{n}", "salah")
    with pytest.raises(LoginThrottled):
        throttle.verify(users, "10.0.0.9", "someone-else", "salah")


def test_a_successful_login_clears_its_failures(tmp_path: Path) -> None:
    users = Users(tmp_path / "users")
    users.add("budi", "kata-sandi-1")
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=Clock())
    for _ in range(2):
        throttle.verify(users, "10.0.0.9", "budi", "salah")
    assert throttle.verify(users, "10.0.0.9", "budi", "kata-sandi-1")
    for _ in range(2):
        throttle.verify(users, "10.0.0.9", "budi", "salah")
    assert throttle.retry_after("10.0.0.9", "budi") == 0


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=60, max_tracked=100, clock=Clock())
    for n in range(5000):
        throttle.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", f"user{n}")
    assert throttle.tracked == 100
