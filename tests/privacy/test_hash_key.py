"""The hash key file `var/privacy-hash.key` (bot/privacy.py): made once, atomically, 0600.

Before, the file was created empty and then written, so a process starting at the same moment
could read it empty and fail, and a file a crash had left empty failed every start after."""

from __future__ import annotations

import stat
import threading

import pytest

from bot import privacy


@pytest.fixture()
def var(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.HASH_KEY_ENV, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setattr(privacy, "_hash_keys", {})
    return tmp_path


def test_the_key_is_made_once_owner_readable_and_kept(var):
    key = privacy.hash_key()
    path = var / privacy.HASH_KEY_FILE
    assert len(key) == 64 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    privacy._hash_keys.clear()  # another process of the same machine
    assert privacy.hash_key() == key
    assert [p.name for p in var.iterdir() if p.name.endswith(".tmp")] == []


def test_a_key_file_left_empty_by_a_crash_is_made_again(var):
    path = var / privacy.HASH_KEY_FILE
    path.write_bytes(b"")
    key = privacy.hash_key()
    assert key and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_processes_starting_together_get_one_key_and_none_fails(var):
    """Threads stand for processes (`key_file` is what each does once, uncached): 30 rounds
    of 12 starting at once on a machine without the file. Before, most of them read the
    file between its creation and its write, and failed."""
    path = var / privacy.HASH_KEY_FILE
    for _ in range(30):
        path.unlink(missing_ok=True)
        keys, errors = start_together(path, 12)
        assert errors == []
        assert len(keys) == 12 and len(set(keys)) == 1 and path.read_bytes() == keys[0]


def start_together(path, count: int) -> tuple[list[bytes], list[Exception]]:
    barrier, keys, errors = threading.Barrier(count), [], []

    def start() -> None:
        barrier.wait()
        try:
            keys.append(privacy.key_file(path))
        except Exception as error:  # noqa: BLE001 - what the test counts
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return keys, errors
