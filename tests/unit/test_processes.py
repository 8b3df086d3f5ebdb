"""A killed job leaves nothing behind: no child process running, no temporary file for good."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ahrec.io import atomic_path
from ahrec.processes import remove_leftovers, temporary_beside

REPO = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, by pid, with their command name (/proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(stat.parent.name)] = name
    return found


def alive(pid: int) -> bool:
    """Running: /proc has it and it is not a zombie waiting for a parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def python(code: str, **kwargs) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": f"{REPO / 'lib'}{os.pathsep}{REPO}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], env=environment, **kwargs
    )


def test_a_temporary_is_named_for_its_output_and_only_its_own_are_removed(tmp_path):
    """A rerun deletes what a killed writer of the same file left, and nothing else: not
    another file's temporary (another shard's job may be writing it right now)."""
    mine = [temporary_beside(tmp_path / "a.wav") for _ in range(2)]
    key = temporary_beside(tmp_path / "a.wav.key")
    other = temporary_beside(tmp_path / "b.wav")
    longer = temporary_beside(tmp_path / "a.wav.x")
    unrelated = tmp_path / ".tmp-notes"
    unrelated.write_text("x")
    assert all(p.name.startswith(".tmp-a.wav.") and p.suffix == ".wav" for p in mine)
    removed = remove_leftovers([tmp_path / "a.wav", tmp_path / "a.wav.key"])
    assert sorted(removed) == sorted([*mine, key])
    assert other.exists() and longer.exists() and unrelated.exists()
    assert remove_leftovers([tmp_path / "a.wav", tmp_path / "missing" / "c.wav"]) == []


def test_an_atomic_write_that_fails_leaves_no_temporary(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "t.csv") as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_a_child_dies_with_its_parent_even_on_sigkill():
    """SIGKILL runs no handler and no finally: the kernel ends the child (PR_SET_PDEATHSIG)."""
    parent = python(
        """
        from ahrec.processes import run_child
        run_child(["sleep", "60"])
        """
    )
    try:
        wait_until(lambda: "sleep" in children(parent.pid).values(), 20, "sleep never started")
        (child,) = children(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_until(lambda: not alive(child), 5, f"the child {child} outlived its parent")
    finally:
        parent.kill()
        parent.wait()


EXTRACT = """
import sys
from ahrec.media.steps import extract_audio_shard
extract_audio_shard(
    [{{"video_id": "v1", "path": {video!r}, "has_audio": {has_audio}}}],
    {out!r}, {index!r}, sample_rate=16000, threads=2,
)
print("done")
"""


@pytest.mark.slow
@pytest.mark.skipif(not LINUX or shutil.which("ffmpeg") is None, reason="needs Linux and ffmpeg")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_audio_job_leaves_no_ffmpeg_and_the_next_run_removes_its_wav(tmp_path, how):
    """The job is killed while ffmpeg extracts (here: waits on a FIFO that never delivers,
    a recording that takes forever): ffmpeg ends with it, and the temporary wav it was
    writing is removed by the next job of the shard."""
    video = tmp_path / "video.mp4"
    os.mkfifo(video)  # ffmpeg blocks opening it: alive until something ends it
    out, index = tmp_path / "audio", tmp_path / "audio" / "shards" / "shard-0.json"
    job = python(
        EXTRACT.format(video=str(video), has_audio=True, out=str(out), index=str(index)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    ffmpeg = None

    def extracting() -> int | None:
        """ffmpeg reading the video (not ``ffmpeg -version``, which the job runs too)."""
        for pid, name in children(job.pid).items():
            with contextlib.suppress(OSError):
                if (
                    name == "ffmpeg"
                    and str(video).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
                ):
                    return pid
        return None

    try:
        wait_until(
            lambda: extracting() is not None or job.poll() is not None, 60, "ffmpeg never started"
        )
        assert job.poll() is None, job.communicate()[1].decode()[-2000:]
        ffmpeg = extracting()
        left = list(out.glob(".tmp-v1.wav.*"))
        assert left, "the extraction writes a temporary wav beside its output"
        os.kill(job.pid, how)
        job.wait(timeout=10)
        wait_until(lambda: not alive(ffmpeg), 5, f"ffmpeg {ffmpeg} outlived its job ({how!r})")
    finally:
        job.kill()
        job.communicate()
        if ffmpeg is not None and alive(ffmpeg):
            os.kill(ffmpeg, signal.SIGKILL)
    assert all(p.exists() for p in left)  # a killed job runs no cleanup of its own
    assert not index.exists()
    # the next run of the shard (the file is fixed: no audio track to read) cleans up
    again = python(
        EXTRACT.format(video=str(video), has_audio=False, out=str(out), index=str(index)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr.decode()[-2000:]
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert (out / "v1.wav").exists() and index.exists()
