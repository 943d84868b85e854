"""tasks.py: the package fingerprint that keeps the book's execution cache fresh, the tasks'
commands and arguments, and how they split the suite between xdist workers."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tasks(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "cnncourse" / "explorers" / "__pycache__").mkdir(parents=True)
    (tmp_path / "cnncourse" / "nn.py").write_text("x = 1\n")
    (tmp_path / "cnncourse" / "explorers" / "conv.js").write_text("let x = 1;\n")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "CACHE", tmp_path / ".cache")
    return module


def test_an_edit_of_any_package_file_changes_the_fingerprint(tasks, tmp_path):
    before = tasks.package_fingerprint()
    (tmp_path / "cnncourse" / "explorers" / "conv.js").write_text("let x = 2;\n")
    assert tasks.package_fingerprint() != before


def test_bytecode_caches_do_not_change_the_fingerprint(tasks, tmp_path):
    before = tasks.package_fingerprint()
    (tmp_path / "cnncourse" / "explorers" / "__pycache__" / "nn.cpython-311.pyc").write_bytes(b"1")
    assert tasks.package_fingerprint() == before


def test_a_changed_package_drops_the_execution_cache_and_the_doctrees(tasks, tmp_path):
    """Else Sphinx re-reads only edited chapters, and the others keep outputs of the old package."""
    build = tmp_path / "_build"
    tasks.invalidate_stale_execution_cache()  # the first build: stamp written
    for kept in (".jupyter_cache", ".doctrees", "html"):
        (build / kept).mkdir()
    tasks.invalidate_stale_execution_cache()  # package unchanged: everything kept
    assert all((build / kept).is_dir() for kept in (".jupyter_cache", ".doctrees", "html"))
    (tmp_path / "cnncourse" / "nn.py").write_text("x = 2\n")
    tasks.invalidate_stale_execution_cache()
    assert not (build / ".jupyter_cache").exists() and not (build / ".doctrees").exists()
    assert (build / "html").is_dir()


class Recorded(list):
    """Commands recorded in order; `outcomes`: background job name -> the step that fails."""

    outcomes: dict[str, str]


@pytest.fixture
def commands(tasks, monkeypatch) -> Recorded:
    """The commands the tasks would run, recorded instead of run (nothing is installed)."""
    recorded = Recorded()

    def record(*argv, **env) -> tuple[str, ...]:
        recorded.append(tuple(str(a) for a in argv) + tuple(f"{k}={v}" for k, v in env.items()))
        return recorded[-1]

    monkeypatch.setattr(tasks, "run", record)
    # a background job's steps: recorded as "&", the job's name, then the command; the job
    # fails at the step named in `outcomes` (by the job's name)
    outcomes = {}

    def start(name, *steps):
        for step in steps:
            record("&", name, *step.argv, **step.env)
        return tasks.Job(name, *steps)

    monkeypatch.setattr(tasks, "start", start)
    monkeypatch.setattr(tasks, "finish", lambda job: outcomes.get(job.name))
    monkeypatch.setattr(tasks, "stop", lambda jobs: None)
    monkeypatch.setattr(tasks, "invalidate_stale_execution_cache", lambda: None)
    recorded.outcomes = outcomes
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    monkeypatch.setattr(tasks, "ensure_system_packages", lambda: None)
    return recorded


def pytest_runs(commands: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """pytest's own arguments (after `python -m pytest`) of each pytest command, in order."""
    return [command[command.index("pytest") + 1:] for command in commands if "pytest" in command]


def marker_expression(pytest_args: tuple[str, ...]) -> str | None:
    return pytest_args[pytest_args.index("-m") + 1] if "-m" in pytest_args else None


@pytest.mark.parametrize("task", ["book", "test", "check", "lint", "bench"])
def test_a_task_given_arguments_it_does_not_take_says_so(tasks, commands, capsys, task):
    with pytest.raises(SystemExit) as stop:
        tasks.main([task, "-k", "conv"])
    assert f"tasks.py {task} takes no arguments" in str(stop.value.code)
    assert "'-k conv'" in str(stop.value.code)
    assert commands == []


def test_an_unknown_task_is_named_with_the_usage(tasks, commands):
    with pytest.raises(SystemExit) as stop:
        tasks.main(["tset"])
    assert "unknown task 'tset'" in str(stop.value.code)
    assert "check" in str(stop.value.code) and commands == []


def test_pytest_passes_its_arguments_to_pytest_alone(tasks, commands):
    tasks.main(["pytest", "tests/test_tasks.py", "-k", "fingerprint", "-x"])
    [args] = pytest_runs(commands)
    assert args == ("-p", "no:cacheprovider", "tests/test_tasks.py", "-k", "fingerprint", "-x",
                    "MPLBACKEND=Agg")


def test_lint_runs_ruff_on_the_whole_tree(tasks, commands):
    tasks.main(["lint"])
    assert commands == [(str(tasks.BIN / "ruff"), "check", ".")]


def test_check_lints_then_runs_every_test_but_slow_and_book_in_parallel(tasks, commands):
    tasks.main(["check"])
    assert commands[0] == (str(tasks.BIN / "ruff"), "check", ".")
    [args] = pytest_runs(commands)
    assert marker_expression(args) == "not slow and not book"
    assert "--numprocesses" in args


def test_test_lints_then_runs_book_jax_and_tensorflow_side_by_side(tasks, commands):
    tasks.main(["test"])
    assert commands[0] == (str(tasks.BIN / "ruff"), "check", ".")
    book = [c[2:] for c in commands if c[:2] == ("&", "book")]
    jax = [c[2:] for c in commands if c[:2] == ("&", "jax")]
    foreground = [c for c in commands[1:] if c[0] != "&"]
    assert book[0][:2] == (str(tasks.BIN / "jupyter-book"), "build")  # first the build,
    assert "-W" in book[0] and "--keep-going" in book[0]
    [book_tests] = pytest_runs(book[1:])  # then the tests that read it
    assert marker_expression(book_tests) == "book"
    assert tasks.BOOK_TESTS in book_tests  # only the folder that holds them is collected
    assert f"{tasks.BOOK_TESTS}/" == conftest.BOOK_TESTS  # the folder tests/conftest.py checks
    [jax_tests] = pytest_runs(jax)
    assert "KERAS_BACKEND=jax" in jax_tests
    assert marker_expression(jax_tests) == "keras and not backend_neutral and not book"
    [tensorflow] = pytest_runs(foreground)
    assert marker_expression(tensorflow) == "not book" and "KERAS_BACKEND=jax" not in tensorflow
    assert all("--numprocesses" in run for run in (tensorflow, book_tests, jax_tests))
    assert commands[-1] == foreground[-1]  # the background jobs were started first


@pytest.mark.parametrize("job, step", [("book", "book build"), ("book", "book tests"),
                                        ("jax", "JAX tests")])
def test_test_fails_naming_the_step_that_failed(tasks, commands, job, step):
    commands.outcomes[job] = step
    with pytest.raises(SystemExit) as stop:
        tasks.main(["test"])
    assert str(stop.value.code).startswith(f"tasks.py test: failed: {step} ")


def test_a_job_runs_its_steps_in_order_until_one_fails_and_finish_prints_its_log(tasks, capsys):
    def say(text: str, code: int = 0):
        return tasks.Step(text, (sys.executable, "-c", f"print({text!r}); exit({code})"))

    niceness = tasks.Step("niceness", (sys.executable, "-c", "import os; print(os.nice(0))"))
    fine = tasks.start("fine", say("built"), say("tested"), niceness)
    broken = tasks.start("broken", say("built"), say("2 failed", 3), say("never"))
    assert tasks.finish(fine) is None and tasks.finish(broken) == "2 failed"
    printed = capsys.readouterr().out
    assert "tested" in printed and "broken: failed: 2 failed" in printed
    # at a lower priority than the foreground (the process that runs the task)
    assert tasks.BACKGROUND_NICENESS > 0
    assert f"\n{min(19, os.nice(0) + tasks.BACKGROUND_NICENESS)}\n" in printed
    log = (tasks.CACHE / "logs" / "broken.log").read_text()
    assert "built\n" in log and "2 failed\n" in log and "never\n" not in log


def test_a_module_fixture_is_built_once_when_the_tasks_run_tests_in_parallel(tasks, tmp_path):
    """The tasks' xdist distribution keeps a module's tests on one worker, so a module-scoped
    fixture (a graded class, a built model) is built once, not once per worker."""
    (tmp_path / "test_shared.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture(scope='module')\n"
        "def built():\n"
        f"    with open({str(tmp_path / 'builds.txt')!r}, 'a') as log:\n"
        "        log.write('built\\n')\n\n"
        "@pytest.mark.parametrize('i', range(12))\n"
        "def test_uses(built, i):\n    pass\n")
    (tmp_path / "test_plain.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('i', range(12))\ndef test_plain(i):\n"
        "    pass\n")
    distribution = tasks.PARALLEL[tasks.PARALLEL.index("--dist"):][:2]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-n", "2",
         *distribution, "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert (tmp_path / "builds.txt").read_text() == "built\n"
    workers = re.findall(r"\[(gw\d)\] .*PASSED test_(shared|plain)", completed.stdout)
    assert len(workers) == 24
    assert len({worker for worker, module in workers if module == "shared"}) == 1


def test_the_modules_split_by_parameter_exist_and_only_they_are_split():
    """tests/conftest.py's xdist units: a renamed module would silently stay on one worker."""
    from tests.conftest import SPLIT_BY_PARAMETER, scope_of

    assert all((ROOT / module).is_file() for module in SPLIT_BY_PARAMETER)
    mutants = "tests/labs/test_mutants.py"
    assert mutants in SPLIT_BY_PARAMETER
    assert scope_of(f"{mutants}::test_every_mutant[lab4_lenet]") == f"{mutants}[lab4_lenet]"
    assert scope_of(f"{mutants}::test_the_generator") == mutants
    assert scope_of("tests/test_arithmetic.py::test_size[7-3-1]") == "tests/test_arithmetic.py"


def test_a_book_test_outside_the_book_folder_is_refused():
    """tasks.py collects the book's tests from tests/book alone: one elsewhere would never run."""
    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

        def get_closest_marker(self, name):
            return name == "book" or None

    conftest.pytest_collection_modifyitems([Item("tests/book/test_book_site.py::test_a")])
    with pytest.raises(pytest.UsageError, match=r"tests/viz/test_x.py::test_b"):
        conftest.pytest_collection_modifyitems([Item("tests/viz/test_x.py::test_b")])
