"""The sandbox's pieces: limits, the bubblewrap command line, and one real sandboxed process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cnncourse
from cnncourse.grading.run.driver import GradingOptions, sandbox_mode
from cnncourse.grading.run.pool import claim_uid
from cnncourse.grading.run.sandbox import (
    BWRAP,
    GIB,
    SETPRIV,
    ResourceLimits,
    SandboxSpec,
    bubblewrap_argv,
    bubblewrap_available,
    bubblewrap_probe,
    ids_of_processes,
    kernel_env,
    kernel_id_range,
    kernel_parallelism,
    python_path_for_kernel,
    readonly_paths_for_python,
)

REPO = Path(__file__).resolve().parents[3]


def test_tensorflow_labs_get_more_address_space():
    assert ResourceLimits.for_source("import numpy").address_space_bytes == 4 * GIB
    assert ResourceLimits.for_source("import keras").address_space_bytes == 32 * GIB
    assert ResourceLimits.for_source("x", processes=9).processes == 9


def test_the_repository_is_not_in_the_sandbox_except_the_package(tmp_path):
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "v"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python())  # fmt: skip
    argv = bubblewrap_argv(spec, {"HOME": "/tmp"})
    mounted = {argv[i + 2] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")}
    for secret in ("solutions", "exercises", "gradebook.db", "submitted"):
        assert not any(str(REPO / secret) in m for m in mounted), secret
    writable = {argv[i + 2] for i, a in enumerate(argv) if a == "--bind"}
    assert writable == {spec.visible_dir, spec.runtime_dir}
    assert "--unshare-net" in argv and "--die-with-parent" in argv


def bwrap_really_starts() -> bool:
    """Decided here, not by the code under test: does a bubblewrap sandbox run `true`?"""
    try:
        argv = [BWRAP, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "true"]
        return subprocess.run(argv, capture_output=True, timeout=60).returncode == 0
    except OSError:
        return False


def test_sandbox_mode_follows_the_options_and_this_machine():
    assert sandbox_mode(GradingOptions(sandbox=False)) == "off"
    expected = "bubblewrap" if bwrap_really_starts() else "off"
    assert sandbox_mode(GradingOptions()) == expected
    assert bubblewrap_available() == (expected == "bubblewrap")


@pytest.fixture
def broken_bwrap(tmp_path):
    """An installed bwrap that cannot start a sandbox, as in a container without namespaces."""
    fake = tmp_path / "bwrap"
    message = "bwrap: No permissions to creating new namespace"
    fake.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    fake.chmod(0o755)
    return str(fake)


def test_an_installed_bwrap_that_cannot_start_is_found_out(broken_bwrap):
    works, why = bubblewrap_probe(broken_bwrap)
    assert not works and "cannot start a sandbox here" in why and "namespace" in why
    assert bubblewrap_probe("/nonexistent/bwrap") == (
        False, "bubblewrap is not installed (/nonexistent/bwrap): apt-get install bubblewrap")


def test_a_broken_sandbox_falls_back_with_a_warning_or_is_refused(broken_bwrap, capsys):
    probes = {"this machine": bubblewrap_probe(broken_bwrap)}
    assert sandbox_mode(GradingOptions(), probes) == "off"
    warning = capsys.readouterr().err
    assert "sandbox is OFF" in warning and "namespace" in warning
    with pytest.raises(ValueError, match="sandbox is required but cannot start.*namespace"):
        sandbox_mode(GradingOptions(sandbox=True), probes)
    two = {"tcp://a:1": (True, ""), "tcp://b:1": (False, "no bwrap")}
    with pytest.raises(ValueError, match="tcp://b:1: no bwrap"):
        sandbox_mode(GradingOptions(sandbox=True), two)  # one machine without it is enough


@pytest.mark.skipif(not bwrap_really_starts(), reason="needs a working bubblewrap")
def test_the_kernel_imports_the_package_of_the_worker_not_another_copy(tmp_path):
    """PYTHONPATH names the worker's package folder; in the sandbox only the package shows."""
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    (tmp_path / "w").mkdir()
    (tmp_path / "run").mkdir()
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "v"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python(),
                       python_path=python_path_for_kernel())  # fmt: skip
    env = kernel_env("/tmp", spec.python_path)
    probe = ("import os, sys, cnncourse; print(cnncourse.__file__); "
             "print(os.listdir(sys.path[1]))")  # sys.path[0] is '' with -c, then PYTHONPATH
    argv = [*bubblewrap_argv(spec, env), sys.executable, "-c", probe]
    (copy / "cnncourse").mkdir()  # a copy in the current folder must not be imported
    (copy / "cnncourse" / "__init__.py").write_text("raise ImportError('the wrong copy')")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=copy)
    imported, listing = out.stdout.splitlines()
    assert imported == str(Path(cnncourse.__file__).resolve()), out.stderr
    assert "cnncourse" in listing and "solutions" not in listing  # only the package shows


@pytest.mark.skipif(not bwrap_really_starts(), reason="needs a working bubblewrap")
def test_a_sandboxed_process_sees_no_solutions_and_no_network(tmp_path):
    (tmp_path / "w").mkdir()
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "visible"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python())  # fmt: skip
    (tmp_path / "run").mkdir()
    probe = (
        "import os, socket\n"
        f"print(os.path.exists({str(REPO / 'solutions')!r}), os.getcwd())\n"
        "open('made-here', 'w').write('ok')\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as e:\n    print('no network', e.errno)\n"
    )
    argv = [*bubblewrap_argv(spec, {"HOME": "/tmp"}), sys.executable, "-c", probe]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines()[0] == f"False {spec.visible_dir}"
    assert "no network" in out
    assert (tmp_path / "w" / "made-here").read_text() == "ok"  # the one writable folder


@pytest.mark.skipif(not bwrap_really_starts(), reason="needs a working bubblewrap")
@pytest.mark.parametrize("uid", [None, 200_123], ids=["worker's uid", "private uid"])
def test_the_kernel_has_a_private_writable_dev_shm_so_joblib_prints_nothing(tmp_path, uid):
    """joblib and multiprocessing need POSIX semaphores (/dev/shm); without them joblib warns
    on stderr, and nbgrader gives 0 to a test cell with stderr output (issue 22)."""
    if uid is not None and os.getuid() != 0:
        uid = None  # only root can switch to a private uid; the shared-uid case still runs
    for folder in ("w", "run"):
        (tmp_path / folder).mkdir()
        os.chmod(tmp_path / folder, 0o777)
    os.chmod(tmp_path, 0o755)
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "v"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python(),
                       python_path=python_path_for_kernel(), uid=uid)  # fmt: skip
    probe = (
        "import os, multiprocessing, joblib._multiprocessing_helpers as helpers\n"
        "open('/dev/shm/mine', 'w').write('x')\n"
        "multiprocessing.Semaphore()\n"
        "print(helpers.mp is not None, sorted(os.listdir('/dev/shm')))\n"
    )
    argv = [*bubblewrap_argv(spec, kernel_env("/tmp", spec.python_path)), sys.executable, "-c",
            probe]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.stderr == ""
    assert out.stdout.split() == ["True", "['mine']"]  # private: the host's files do not show
    assert not Path("/dev/shm/mine").exists()


def write_subids(path: Path, *ranges: tuple[int, int]) -> Path:
    """A fake /etc/subuid: NAME:START:COUNT lines (and a comment)."""
    lines = ["# rootless containers"] + [f"user{i}:{start}:{count}"
                                         for i, (start, count) in enumerate(ranges)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def overlaps(ids: range, start: int, count: int) -> bool:
    return ids.start < start + count and start < ids.stop


def test_kernel_ids_avoid_every_subordinate_id_range(tmp_path):
    """The default range of a second user (165536-231071) held the old kernel ids 200000+."""
    subuid = write_subids(tmp_path / "subuid", (100_000, 65_536), (165_536, 65_536))
    subgid = write_subids(tmp_path / "subgid", (231_072, 65_536))
    ids = kernel_id_range(100_000, (str(subuid), str(subgid), str(tmp_path / "missing")))
    assert len(ids) == 100_000 and ids.start >= 200_000
    for start, count in ((100_000, 65_536), (165_536, 65_536), (231_072, 65_536)):
        assert not overlaps(ids, start, count)
    import pwd

    assert not any(entry.pw_uid in ids for entry in pwd.getpwall())
    everything = write_subids(tmp_path / "all", (0, 2**31))
    with pytest.raises(RuntimeError, match="no 10 free user ids for kernels"):
        kernel_id_range(10, (str(everything),))


def test_claimed_kernel_uids_come_from_the_free_range(tmp_path):
    subuid = write_subids(tmp_path / "subuid", (165_536, 65_536))
    uid, fd = claim_uid(tmp_path / "locks", subid_files=(str(subuid),))
    os.close(fd)
    assert not overlaps(range(uid, uid + 1), 165_536, 65_536) and uid >= 200_000


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run a process as another user")
def test_a_uid_that_another_process_runs_under_is_skipped_not_killed(tmp_path):
    subuid = write_subids(tmp_path / "subuid", (165_536, 65_536))
    first = kernel_id_range(1, (str(subuid),)).start
    stranger = subprocess.Popen([SETPRIV, f"--reuid={first}", f"--regid={first}",
                                 "--clear-groups", "sleep", "300"])  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while first not in ids_of_processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        uid, fd = claim_uid(tmp_path / "locks", subid_files=(str(subuid),))
        os.close(fd)
        assert uid != first and stranger.poll() is None  # not taken, not killed
    finally:
        stranger.kill()
        stranger.wait()


# ----------------------------------------------------------------------------- non-root kernels
GRADER = "cnncourse-grader"  # an ordinary user made for the test when it runs as root
HOLDING_BOMB = """\
import os, time
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)  # children pile up until the process limit says no
            os._exit(0)
except OSError:
    pass
time.sleep(20)  # hold them while the other kernels start and run
"""
THREADS = """\
import threading, time
time.sleep(8)  # an honest student's slow code: meanwhile the bomb fills its budget
threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(50)]
for thread in threads:
    thread.start()  # 'can't start new thread' if the bomb took this kernel's budget too
for thread in threads:
    thread.join()
"""
GRADE_AS_USER = """\
import json, sys
from dataclasses import replace
from cnncourse.grading.run.driver import Course, grade_lab
from tests.grading.tiny_course import FAST, TINY
course = Course.load(sys.argv[1])
results = grade_lab(course, TINY, options=replace(FAST, jobs=3, sandbox=True))
print(json.dumps({r.student: [r.score, r.status, r.reasons] for r in results}))
"""


@pytest.fixture
def ordinary_user():
    """(name, uid): an ordinary user to grade as, made once on this machine if missing."""
    import pwd

    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name, os.getuid()
    try:
        entry = pwd.getpwnam(GRADER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        GRADER], check=True)  # fmt: skip
        entry = pwd.getpwnam(GRADER)
    return entry.pw_name, entry.pw_uid


@pytest.mark.slow
@pytest.mark.skipif(not bwrap_really_starts(), reason="needs a working bubblewrap")
def test_a_fork_bomb_does_not_starve_the_other_kernels_of_an_ordinary_user(ordinary_user):
    """Not root, so no private uids: each kernel still gets its own process budget, and the
    honest kernels graded beside a fork bomb all get full marks (issue 22)."""
    import shutil
    import tempfile

    import nbformat

    from cnncourse.grading.demo import synthetic_submission
    from tests.grading.run.hostile.corpus import save, with_extra_cell
    from tests.grading.tiny_course import TINY, make_course

    name, uid = ordinary_user
    folder = Path(tempfile.mkdtemp(prefix="cnncourse-nonroot-"))
    try:
        course = make_course(folder / "course")
        source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
        release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
        correct = synthetic_submission(source, release, "correct")
        save(course.submitted / "bomb" / TINY, with_extra_cell(correct, HOLDING_BOMB))
        honest = [f"honest{i}" for i in range(6)]
        for student in honest:  # graded first, beside the bomb, or while it holds
            save(course.submitted / student / TINY, with_extra_cell(correct, THREADS))
        (folder / "home").mkdir()
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{uid}:{uid}", str(folder)], check=True)
        env = {"HOME": str(folder / "home"), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
               "MPLBACKEND": "Agg", "LANG": os.environ.get("LANG", "C.UTF-8")}  # fmt: skip
        as_user = ["runuser", "-u", name, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_user, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                               sys.executable, "-c", GRADE_AS_USER, str(course.root)],
                              capture_output=True, text=True, cwd=folder)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        graded = json.loads(done.stdout.strip().splitlines()[-1])
        assert set(graded) == {"bomb", *honest}
        for student in honest:
            assert graded[student][:2] == [3, "ok"], (student, graded[student])
            notebook = nbformat.read(course.autograded / student / TINY / f"{TINY}.ipynb", 4)
            errors = [o.get("evalue") for cell in notebook.cells for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"]  # fmt: skip
            assert errors == [], (student, errors)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_bubblewrap_an_ordinary_user_grades_one_kernel_at_a_time(monkeypatch, capsys):
    """No private uid and no user namespace per kernel: kernels would share one process
    budget, so they run one at a time, and the instructor is told why once."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert kernel_parallelism(3, "off") == 1
    assert "one submission at a time, not 3" in capsys.readouterr().err
    assert kernel_parallelism(3, "bubblewrap") == 3  # a user namespace, a budget, per kernel
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert kernel_parallelism(3, "off") == 3  # root: RLIMIT_NPROC binds nobody anyway
    assert capsys.readouterr().err == ""
