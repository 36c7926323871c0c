"""The temporary staging folders of imports: locked while their import lives, removed when it
ends, and removed by the next import when their process died without cleaning up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from filelock import FileLock

from integrationsplaner.exchange import staging
from integrationsplaner.exchange.importer import prepare_import
from integrationsplaner.exchange.staging import STAGE_PREFIX, StageFolder, sweep_stale_stages

from .helpers import make_ws, trust_all


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of its own for this test (the sweep looks at every folder in it);
    folders count as old at once (see test_a_young_folder_is_left_alone)."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(staging, "_YOUNG_SECONDS", 0)
    return folder


_DIES_WITH_ITS_FOLDER = """
import os, sys
from integrationsplaner.exchange.staging import StageFolder
folder = StageFolder()
(folder.path / "stage.sqlite").write_bytes(b"x" * 100_000)
print(folder.path, flush=True)
os.kill(os.getpid(), 9)
"""


def _killed_import(temp: Path) -> Path:
    """A process that makes its staging folder and is killed: the folder it leaves."""
    done = subprocess.run([sys.executable, "-c", _DIES_WITH_ITS_FOLDER], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "TMPDIR": str(temp)})
    assert done.returncode == -9, done.stderr
    left = Path(done.stdout.strip())
    assert left.parent == temp and (left / "stage.sqlite").exists()
    return left


def test_the_folder_of_a_killed_import_is_removed(temp: Path) -> None:
    left = _killed_import(temp)
    assert sweep_stale_stages() == 1
    assert not left.exists()


def test_a_young_folder_is_left_alone(temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An import makes its folder, then takes the lock: a sweep in that moment must not take
    the lock first and remove the folder."""
    monkeypatch.setattr(staging, "_YOUNG_SECONDS", 120)
    young = temp / (STAGE_PREFIX + "gerade-angelegt")
    young.mkdir()
    FileLock(str(young / "in-use.lock")).acquire()  # released again at once: looks stale
    assert sweep_stale_stages() == 0 and young.exists()
    older = time.time() - 121
    os.utime(young, (older, older))
    assert sweep_stale_stages() == 1 and not young.exists()


_LIVES_UNTIL_TOLD = """
import sys
from integrationsplaner.exchange.staging import StageFolder
folder = StageFolder()
print(folder.path, flush=True)
sys.stdin.readline()
folder.remove()
"""


def test_an_import_of_another_program_keeps_its_folder(temp: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _LIVES_UNTIL_TOLD], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "TMPDIR": str(temp)}) as other:
        assert other.stdout is not None and other.stdin is not None
        folder = Path(other.stdout.readline().strip())
        assert folder.parent == temp and folder.exists()
        assert sweep_stale_stages() == 0 and folder.exists()
        other.stdin.write("\n")
        other.stdin.close()
        assert other.wait(timeout=60) == 0
    assert not folder.exists()


def test_a_folder_made_in_one_thread_is_removed_from_another(temp: Path) -> None:
    """The window checks a bundle in a worker thread and closes the plan in its own: the lock
    is released and the folder removed all the same (a lock per thread was not)."""
    import threading

    made: list[StageFolder] = []
    worker = threading.Thread(target=lambda: made.append(StageFolder()))
    worker.start()
    worker.join()
    (folder,) = made
    lock_file = folder.path / "in-use.lock"
    folder.remove()
    assert not folder.path.exists()
    fds = Path(f"/proc/{os.getpid()}/fd")
    if fds.exists():  # Linux: no descriptor of the lock file is left open
        assert not [fd for fd in fds.iterdir()
                    if str(lock_file) in os.path.realpath(fd)], "lock file still open"


def test_a_living_import_keeps_its_folder(temp: Path) -> None:
    folder = StageFolder()
    try:
        (folder.path / "stage.sqlite").write_bytes(b"x")
        assert sweep_stale_stages() == 0
        assert (folder.path / "stage.sqlite").exists()
        # also while another import starts and ends
        other = StageFolder()
        other.remove()
        assert folder.path.exists() and not other.path.exists()
    finally:
        folder.remove()
    assert list(temp.iterdir()) == []


def test_a_folder_without_its_lock_is_removed_only_when_old(temp: Path) -> None:
    """Made by an older version, or caught in the moment before its lock exists."""
    young = temp / (STAGE_PREFIX + "young")
    old = temp / (STAGE_PREFIX + "old")
    for folder in (young, old):
        folder.mkdir()
        (folder / "stage.sqlite").write_bytes(b"x")
    day_ago = time.time() - staging._UNLOCKED_GRACE_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    assert sweep_stale_stages() == 1
    assert young.exists() and not old.exists()


def test_other_files_and_links_are_left_alone(temp: Path, tmp_path: Path) -> None:
    """Only folders with the prefix; a link with the prefix is not followed."""
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("bleibt")
    FileLock(str(precious / "in-use.lock")).acquire()  # released again: looks stale
    (temp / (STAGE_PREFIX + "link")).symlink_to(precious, target_is_directory=True)
    (temp / (STAGE_PREFIX + "file")).write_text("bleibt")
    (temp / "anderes-programm").mkdir()
    assert sweep_stale_stages() == 0
    assert (precious / "data.txt").exists()
    assert sorted(p.name for p in temp.iterdir()) == sorted(
        ["anderes-programm", STAGE_PREFIX + "file", STAGE_PREFIX + "link"])


def test_an_import_sweeps_first_and_cleans_up_after_itself(temp: Path, tmp_path: Path) -> None:
    from integrationsplaner.exchange.export import export_bundle

    left = _killed_import(temp)
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        path = tmp_path / "b.ipbundle"
        export_bundle(pc1, path)
        with prepare_import(kreis, path) as plan:
            assert not left.exists()
            assert plan.stage_path.parent.parent == temp and plan.stage_path.exists()
        assert list(temp.glob(STAGE_PREFIX + "*")) == []
    finally:
        kreis.close()
        pc1.close()
