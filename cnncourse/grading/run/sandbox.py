"""The sandbox a student's kernel runs in while nbgrader grades it.

Threat model (what is covered, and what is not)
------------------------------------------------
nbgrader runs a student's notebook with the rights of whoever grades it. The grading driver
(`cnncourse.grading.run.driver`) splits each grading into two processes with different trust:

* the **worker** is our code (nbgrader's autograde in a private temporary course directory). It
  reads the private gradebook, which holds the hidden tests, and writes the autograded notebook.
  It runs with the instructor's rights, outside the sandbox; of the submission it only parses
  the notebook's JSON (`cnncourse.grading.run.validation`) and copies plain files (never links).
* the **kernel** runs the student's code, and also the hidden tests, because nbgrader executes
  the tests in the same kernel. Only the kernel is sandboxed; it is started by the kernel spec
  that `kernel_spec()` writes, through this file's `launch` entry point.

With bubblewrap (`/usr/bin/bwrap`) the kernel:

* sees a read-only system (/usr, /etc, the Python installation, the virtual environment and the
  `cnncourse` package) and nothing else of the host: not the repository (solutions/, exercises/,
  gradebook.db, submitted/ of other students), not the worker's private course directory (its
  copy of the source notebook and its gradebook), not the instructor's HOME;
* writes only to its working copy (a directory holding the submission's extra files, without the
  notebook, mounted where nbgrader expects the notebook's folder), a private /tmp and HOME, and
  a private /dev/shm (semaphores for multiprocessing and joblib);
* has no network (its own empty network namespace; it talks to the worker over Unix sockets),
  its own PID namespace (it cannot see or signal the worker), and dies with the worker;
* runs as an unprivileged user id of its own when the driver runs as root (bubblewrap drops to it
  with `setpriv`), so the process limit counts the kernel's processes only; the ids come from a
  range that no user, group or /etc/subuid, /etc/subgid range holds (`kernel_id_range`), and an
  id some other process runs under is skipped, so a timeout's kill never reaches anyone else;
* when the driver is not root, runs in a user namespace of its own, where Linux counts its
  processes apart from every other kernel's (`own_user_namespace`): a fork bomb exhausts its
  own budget only. Not root and without bubblewrap, all kernels would share one count, so the
  local pool grades one submission at a time and says so (`kernel_parallelism`).

Resource limits (`ResourceLimits`) apply with or without bubblewrap: address space (memory
bombs), CPU seconds, processes (fork bombs), size of a written file, open files. Inside the
sandbox the kernel also kills, before each cell, the processes earlier cells left behind
(`cnncourse.grading.run.guard`), so a fork bomb costs the cell that set it off, not the rest.
Printed output is cut at 100,000 characters a cell, and a worker's own memory is capped, so an
output flood cannot exhaust the instructor's machine. The driver stops a submission past its
wall-clock timeout by killing its worker, which takes the sandbox down with it.

Not covered: the hidden tests are executed inside the student's kernel, so code that inspects its
own process (stack frames, IPython's input history) can read them while they run; the driver's
guard cells (`cnncourse.grading.run.guard`) restore monkey-patched test helpers but cannot stop a
determined student who rewrites the interpreter's state. Without bubblewrap the kernel can read
everything its user can read and, when grading as root, the process limit does not bind (Linux
ignores RLIMIT_NPROC for root): the driver then says plainly that the sandbox is off.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
GIB = 1024**3
MIB = 1024**2
# Top-level system folders the kernel may read; merged-/usr systems make some of them symlinks.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
# Environment variables that pass from the worker into the kernel (everything else is dropped).
KERNEL_ENV = (
    "LANG",
    "LC_ALL",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
    "KERAS_BACKEND",
    "MPLBACKEND",
    "PYTHONHASHSEED",
    "NBGRADER_EXECUTION",
    "CUDA_VISIBLE_DEVICES",
)


@dataclass(frozen=True)
class ResourceLimits:
    """Limits on the kernel that grades one submission (rlimits, per process)."""

    # 4 GiB of address space: numpy labs use < 1 GiB; a memory bomb gets a MemoryError.
    # TensorFlow reserves far more virtual memory than it uses: see `for_source`.
    address_space_bytes: int = 4 * GIB
    # CPU seconds of one process; the driver's wall-clock timeout usually fires first.
    cpu_seconds: int = 600
    # Tasks (processes and threads) of the kernel's user: TensorFlow starts ~50 threads.
    processes: int = 256
    # Largest file the kernel may write: enough for a figure or a small model checkpoint.
    file_size_bytes: int = 64 * MIB
    open_files: int = 256

    @classmethod
    def for_source(cls, notebook_text: str, **overrides: int) -> ResourceLimits:
        """Limits for a lab, from its source notebook's text: TensorFlow and JAX labs get 32 GiB
        of address space (virtual, reserved at import, not memory actually used)."""
        heavy = any(word in notebook_text for word in ("keras", "tensorflow", "jax"))
        limits = cls(address_space_bytes=32 * GIB) if heavy else cls()
        return limits.replaced(**overrides)

    def replaced(self, **overrides: int) -> ResourceLimits:
        return ResourceLimits(**{**asdict(self), **overrides})

    def apply(self, tasks_already_running: int = 0, processes: bool = True) -> None:
        """Set these limits on the calling process (children inherit them).

        RLIMIT_NPROC counts every task of the user: when the kernel shares the instructor's
        user id, the tasks already running are added so the limit means "this many more".
        processes=False leaves RLIMIT_NPROC alone: the kernel sets it inside its own user
        namespace (`limit_processes_and_exec`)."""
        pairs = [
            (resource.RLIMIT_AS, self.address_space_bytes),
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_FSIZE, self.file_size_bytes),
            (resource.RLIMIT_NOFILE, self.open_files),
        ]
        if processes:
            pairs.append((resource.RLIMIT_NPROC, self.processes + tasks_already_running))
        for which, value in pairs:
            _soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))


def bubblewrap_available() -> bool:
    """True when bubblewrap is installed and starts a sandbox here (probed once, see below)."""
    return bubblewrap_probe()[0]


@functools.cache
def bubblewrap_probe(bwrap: str = BWRAP) -> tuple[bool, str]:
    """(works, why not): run `bwrap ... true` once with the namespaces the kernel's sandbox uses.

    Installed is not enough: many containers forbid the user and PID namespaces bubblewrap needs,
    and then every kernel launch would fail."""
    if not (Path(bwrap).exists() and os.access(bwrap, os.X_OK)):
        return False, f"bubblewrap is not installed ({bwrap}): apt-get install bubblewrap"
    argv = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", *own_user_namespace(None), "--ro-bind", "/", "/", "--proc", "/proc",
            "--dev", "/dev", "--tmpfs", "/tmp", "--", "true"]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"{bwrap} could not start a sandbox here ({error})"
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return False, f"{bwrap} is installed but cannot start a sandbox here: {detail}"
    return True, ""


@dataclass
class SandboxSpec:
    """Everything `launch` needs to start one kernel, written as JSON beside the job.

    workdir:      host folder the kernel may write (its working copy of the submission)
    visible_dir:  where the kernel sees it, and its current directory (the notebook's folder)
    runtime_dir:  host folder of the connection file and the Unix sockets (transport 'ipc')
    uid:          unprivileged user id for the kernel, or None to keep the worker's
    python_path:  folders put first on the kernel's sys.path (PYTHONPATH), so that it imports
                  the very `cnncourse` package the worker imported, wherever that one lives
    """

    workdir: str
    visible_dir: str
    runtime_dir: str
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    uid: int | None = None
    use_bubblewrap: bool = True
    readonly_paths: list[str] = field(default_factory=list)
    python_path: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> SandboxSpec:
        data = json.loads(path.read_text())
        data["limits"] = ResourceLimits(**data["limits"])
        return cls(**data)


def package_dir() -> Path:
    """The folder of the `cnncourse` package this process imported (not necessarily the one
    installed: a copy in the current folder or on PYTHONPATH wins)."""
    import cnncourse

    return Path(cnncourse.__file__).resolve().parent


def readonly_paths_for_python() -> list[str]:
    """Host folders the kernel needs to read: the interpreter, the venv, the course package."""
    paths = {sys.base_prefix, sys.prefix, str(package_dir())}
    return sorted(p for p in paths if not any(p.startswith(s + "/") for s in SYSTEM_DIRS))


def python_path_for_kernel() -> list[str]:
    """PYTHONPATH of the kernel: the folder holding this process's `cnncourse` package. In the
    sandbox only the package itself is mounted there, so nothing else of that folder shows."""
    return [str(package_dir().parent)]


def kernel_spec(spec_file: Path, display_name: str = "Python 3 (sandboxed)") -> dict:
    """A Jupyter kernel.json whose kernel starts through `launch` with the given spec file."""
    launcher = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), str(spec_file)]
    return {
        "argv": [*launcher, "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        # Interrupts travel as messages: a SIGINT to the process group would stop bubblewrap.
        "interrupt_mode": "message",
    }


def bubblewrap_argv(spec: SandboxSpec, env: dict[str, str]) -> list[str]:
    """bwrap options: read-only system, private /tmp, one writable folder, no network."""
    argv = [BWRAP, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    argv += ["--unshare-uts", "--unshare-cgroup-try", *own_user_namespace(spec.uid)]
    argv += ["--hostname", "grader"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    # POSIX semaphores and shared memory (multiprocessing, joblib) live in /dev/shm; bwrap's
    # /dev has one only root may write, and joblib then warns on stderr (a 0 from nbgrader).
    argv += ["--perms", "1777", "--tmpfs", "/dev/shm"]
    made: set[str] = set()
    for path in (*spec.readonly_paths, spec.runtime_dir, spec.visible_dir):
        argv += _parent_dirs(path, made)
    for path in spec.readonly_paths:
        argv += ["--ro-bind", path, path]
    argv += ["--bind", spec.runtime_dir, spec.runtime_dir]
    argv += ["--bind", spec.workdir, spec.visible_dir, "--chdir", spec.visible_dir]
    argv += ["--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    if spec.uid is not None:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", SETPRIV]
        argv += [f"--reuid={spec.uid}", f"--regid={spec.uid}", "--clear-groups", "--inh-caps=-all"]
    return [*argv, "--"]


def own_user_namespace(uid: int | None) -> list[str]:
    """bwrap's option for a user namespace of the kernel's own, when the grader is not root
    (root gives the kernel a private uid instead): Linux counts RLIMIT_NPROC per user namespace
    (since 5.14), so each kernel gets its own process budget, and a fork bomb in one cannot
    starve the other kernels of the same user."""
    return ["--unshare-user"] if uid is None and os.geteuid() != 0 else []


def _parent_dirs(path: str, made: set[str]) -> list[str]:
    """`--dir` options for the missing parents of path, world-traversable (bwrap makes 0700)."""
    argv: list[str] = []
    parents = [str(p) for p in reversed(Path(path).parents) if str(p) != "/"]
    for parent in parents:
        if parent in made or parent == "/tmp" or any(
            parent == s or parent.startswith(s + "/") for s in SYSTEM_DIRS
        ):
            continue
        made.add(parent)
        argv += ["--perms", "0755", "--dir", parent]
    return argv


def kernel_env(home: str, python_path: list[str] = ()) -> dict[str, str]:
    env = {name: os.environ[name] for name in KERNEL_ENV if name in os.environ}
    env.update(HOME=home, PATH="/usr/local/bin:/usr/bin:/bin", MPLCONFIGDIR=f"{home}/.mpl")
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(python_path)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def launch(spec: SandboxSpec, connection_file: str, extra: list[str]) -> None:
    """Replace this process by the sandboxed kernel (called by Jupyter with the kernel spec);
    extra: the kernel arguments Jupyter appends (nbgrader keeps IPython's history in memory)."""
    if spec.uid is not None:  # the kernel's user reads its connection file and makes sockets
        os.chown(connection_file, spec.uid, spec.uid)
    die_with_parent()
    in_own_namespace = spec.use_bubblewrap and bool(own_user_namespace(spec.uid))
    tasks = 0 if spec.uid is not None else tasks_of(os.getuid())
    spec.limits.apply(tasks, processes=not in_own_namespace)
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *extra]
    if in_own_namespace:  # the limit is set inside, where only this kernel's tasks count
        limiter = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--processes"]
        kernel = [*limiter, str(spec.limits.processes), "--", *kernel]
    if spec.use_bubblewrap:
        argv = [*bubblewrap_argv(spec, kernel_env("/tmp", spec.python_path)), *kernel]
        os.execv(argv[0], argv)
    os.environ.update(kernel_env(str(Path(spec.workdir).parent / "home"), spec.python_path))
    os.chdir(spec.workdir)
    os.execv(kernel[0], kernel)


def limit_processes_and_exec(processes: int, argv: list[str]) -> None:
    """Inside the kernel's own user namespace: set RLIMIT_NPROC, then become argv."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    value = processes if hard == resource.RLIM_INFINITY else min(processes, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (value, value))
    os.execv(argv[0], argv)


def kernels_share_one_budget(mode: str) -> bool:
    """True when the kernels of this machine's grader would share one process count: not root
    (no private uids) and no bubblewrap (no user namespace per kernel)."""
    return os.geteuid() != 0 and mode != "bubblewrap"


def kernel_parallelism(jobs: int, mode: str) -> int:
    """How many kernels may run at once on this machine: `jobs`, or 1 (said once, on stderr)
    where they would share one process budget and a fork bomb in one would starve the others."""
    if jobs == 1 or not kernels_share_one_budget(mode):
        return jobs
    print(f"WARNING: grading one submission at a time, not {jobs}: without bubblewrap and not "
          "as root, every kernel counts against one process limit of your user, so a fork bomb "
          "in one would make the others fail. Install bubblewrap with user namespaces allowed "
          "to grade in parallel.", file=sys.stderr)  # fmt: skip
    return 1


def die_with_parent() -> None:
    """Ask Linux to kill this process (and what it execs) when the worker that started it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, 9)


def processes_of(uid: int) -> list[tuple[int, int]]:
    """(start time, pid) of every process whose owner is uid, oldest first."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        started = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time in ticks
        found.append((started, int(entry.name)))
    return sorted(found)


def tasks_of(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) of the processes of uid."""
    total = 0
    for _started, pid in processes_of(uid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(status.split("Threads:", 1)[1].split()[0])
    return total


def kill_processes_of(uid: int, keep_oldest: bool = False) -> int:
    """SIGKILL the processes of a kernel's private uid (all, or all but the kernel itself,
    which is the oldest); returns how many were killed. Never used on a shared uid."""
    victims = processes_of(uid)[1 if keep_oldest else 0 :]
    for _started, pid in victims:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    return len(victims)


# ----------------------------------------------------------------------------- kernel ids
SUBID_FILES = ("/etc/subuid", "/etc/subgid")
KERNEL_ID_BASE = 200_000  # the lowest kernel user id, if nothing claims it
HIGHEST_ID = 2**31 - 1  # ids above are unsafe for many tools (signed 32-bit)


def taken_id_ranges(subid_files=SUBID_FILES) -> list[tuple[int, int]]:
    """[start, end) of ids that belong to someone: subordinate id ranges (rootless containers,
    /etc/subuid and /etc/subgid: NAME:START:COUNT) and the users and groups of this machine."""
    import grp
    import pwd

    taken = [(entry.pw_uid, entry.pw_uid + 1) for entry in pwd.getpwall()]
    taken += [(entry.gr_gid, entry.gr_gid + 1) for entry in grp.getgrall()]
    for path in subid_files:
        try:
            lines = Path(path).read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split("#", 1)[0].strip().split(":")
            if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                start = int(fields[1])
                taken.append((start, start + int(fields[2])))
    return taken


def kernel_id_range(count: int, subid_files=SUBID_FILES, base: int = KERNEL_ID_BASE) -> range:
    """`count` consecutive ids from `base` on, moved past every taken range (`taken_id_ranges`),
    so that killing a kernel's processes never kills a real user's or a container's; the same
    answer in every grader of this machine. Raises RuntimeError when no such range is left."""
    taken = taken_id_ranges(subid_files)
    start, moved = base, True
    while moved:
        moved = False
        for low, high in taken:
            if low < start + count and start < high:
                start, moved = high, True
    if start + count - 1 > HIGHEST_ID:
        raise RuntimeError(f"no {count} free user ids for kernels below {HIGHEST_ID}: "
                           f"{', '.join(subid_files)} and the users claim them; grade as a "
                           "user other than root, or free a range")  # fmt: skip
    return range(start, start + count)


def ids_of_processes(proc: Path = Path("/proc")) -> set[int]:
    """Every user and group id (real, effective, saved, filesystem) of a running process."""
    ids: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(("Uid:", "Gid:")):
                ids.update(int(value) for value in line.split()[1:])
    return ids


def prepare_dirs(spec: SandboxSpec) -> None:
    """Create the working copy, runtime and fallback HOME folders, owned by the kernel's user."""
    for path in (spec.workdir, spec.runtime_dir, str(Path(spec.workdir).parent / "home")):
        os.makedirs(path, exist_ok=True)
        if spec.uid is not None:
            shutil.chown(path, spec.uid, spec.uid)
            os.chmod(path, 0o700)


if __name__ == "__main__":
    if sys.argv[1] == "--processes":  # in the sandbox: sandbox.py --processes N -- KERNEL ARGV
        limit_processes_and_exec(int(sys.argv[2]), sys.argv[4:])
    else:  # python -I -S sandbox.py SPEC.json CONNECTION_FILE [KERNEL ARGS]
        launch(SandboxSpec.load(Path(sys.argv[1])), sys.argv[2], sys.argv[3:])
