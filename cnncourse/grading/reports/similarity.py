"""Which submissions of a lab have answer code alike: pairs ranked, passages side by side.

    result = compare_answers(release_notebook, {"ada": notebook, "bert": notebook, ...})
    cnncourse similarity lab1_convolution    # autograded/lab1_convolution_similarity.html

All the code a student wrote counts (`student_code`): every copy of each solution cell
(nbgrader `solution: true`) and every code cell they added, wherever; the release's read-only
cells (tests, set-up) do not, nbgrader replaces them. The release's own code (signatures,
docstrings, `# YOUR CODE HERE`) is boilerplate and never matches: its lines are blanked in each
answer before fingerprinting, and its k-grams are copydetect boilerplate.

Each answer goes through three normalisations before fingerprinting, so that what a copier
changes cheaply changes nothing:

1. `ast` parse and unparse: comments, docstrings, blank lines and formatting disappear
   (`( a+b )` and `a + b` read the same; a call split over lines reads as one line);
2. independent statements in a canonical order: a run of simple statements none of which reads
   or writes a name another one writes is sorted, so swapping `H, W = x.shape` and
   `KH, KW = k.shape` changes nothing;
3. copydetect's own tokenizer (pygments) turns every variable, attribute and function name into
   `V` or `F` and every string into `S`, so renaming changes nothing.

Then copydetect (winnowing, Schleimer, Wilkerson & Aiken 2003) fingerprints k-grams of the
normalised tokens. In a class of at least `common_min_class` answers, a passage found in more
than `common_share` of them is common knowledge (the formula the lab gives,
`np.sqrt(gx ** 2 + gy ** 2)`) and is ignored like the release, as MOSS does with its -m option;
in a smaller class the rule is off (three copies in a class of five are three copies).

Every student has the reference package installed, whose `nn/`, `arithmetic.py`, `metrics.py`
and `filters.py` implement what the labs ask for: each answer is also compared with the source
of every function there (`with_reference`, on by default), and the report names the functions
it resembles most.

A pair's score is the share of the shorter answer found in the other one: 1.0 when one answer
is contained in the other. A score above the threshold is a reason to look at the two
notebooks, never a verdict: short answers and a single correct way to write a function make
honest students alike.

The common-passage rule has the blind spot MOSS has: code that most of the class copied from one
source is not evidence between any two of them. `compare_lab(..., with_solution=True)` (command
option --with-solution) adds the lab's own solution as the student "(solution)", so a leaked
solution still shows; `common_share=1` turns the rule off.
"""

from __future__ import annotations

import ast
import functools
import html
import io
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbformat import NotebookNode

# Chosen on the class of tests/grading/fixtures/similarity: the disguised copy scores 1.0, the
# most alike honest pairs 0.22 (two loop solutions sharing loop headers; 0.54 without the
# common-passage filter).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class SimilarityOptions:
    """How answers are fingerprinted and when a pair is flagged."""

    # Flag a pair when this share of the shorter answer is found in the other (0 to 1).
    threshold: float = DEFAULT_THRESHOLD
    # k: the shortest run of normalised characters that counts as a match. On normalised code
    # (`V=V.V(V)` for `out = np.zeros(n)`) 25 characters is about one statement.
    noise: int = 25
    # Every shared run this long is found (winnowing window = guarantee - noise + 1).
    guarantee: int = 30
    # Passages in more than this share of the submissions are common knowledge, not copying.
    common_share: float = 0.5
    # The common-passage rule needs a class this large: in a smaller one "more than half" is a
    # handful of students, as likely a ring of copies as a formula the lab gives (three identical
    # copies in a class of five would vanish).
    common_min_class: int = 6
    # Answers shorter than this many normalised characters (a stub left as released) are not
    # compared: there is nothing to copy.
    min_answer: int = 40
    # Compare each answer with the package's own source of what the labs ask for (REFERENCE).
    with_reference: bool = True
    # Flag an answer when this share of it is found in the package. Lower than `threshold`: a
    # copy of the package must be adapted to the lab's shapes (no batch or channel axes), so
    # part of it is the copier's own. On tests/grading/reports/lab1_class.py the disguised copy
    # of the package scores 0.48, the honest answers at most 0.13.
    reference_threshold: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.noise < 5 or self.guarantee < self.noise:
            raise ValueError(
                f"need 5 <= noise <= guarantee, got noise={self.noise}, "
                f"guarantee={self.guarantee}"
            )
        if not 0 < self.common_share <= 1:
            raise ValueError(f"common_share must be in (0, 1], got {self.common_share}")
        if not 0 < self.reference_threshold <= 1:
            raise ValueError(
                f"reference_threshold must be in (0, 1], got {self.reference_threshold}")


@dataclass
class Answer:
    """One student's answer code: the solution cells, normalised, and as written."""

    student: str
    normalised: str
    original: dict[str, str]  # grade_id -> the cell as the student left it
    compared: str = ""  # `normalised` with the release's lines blanked: what is fingerprinted


@dataclass
class Pair:
    """Two submissions and how much of their answer code they share."""

    students: tuple[str, str]
    score: float  # share of the shorter answer found in the other (0 to 1)
    shares: tuple[float, float]  # share of each answer found in the other
    passages: tuple[np.ndarray, np.ndarray]  # (2, M) start/end offsets in each normalised text


@dataclass
class ReferenceMatch:
    """How much of one student's answer code is found in the package's own source."""

    student: str
    score: float  # share of the student's answer found in the package (0 to 1)
    functions: list[tuple[str, int]]  # (module.function, characters matched), most first
    passages: np.ndarray  # (2, M) start/end offsets in the student's normalised text


@dataclass
class SimilarityResult:
    pairs: list[Pair]  # every compared pair, highest score first
    answers: dict[str, Answer]
    not_compared: dict[str, str] = field(default_factory=dict)  # student -> why
    options: SimilarityOptions = field(default_factory=SimilarityOptions)
    reference: list[ReferenceMatch] = field(default_factory=list)  # highest score first

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.options.threshold]

    @property
    def flagged_reference(self) -> list[ReferenceMatch]:
        return [m for m in self.reference if m.score >= self.options.reference_threshold]


# ----------------------------------------------------------------------------- answer code
def solution_ids(release: NotebookNode) -> list[str]:
    """grade_ids of the release's solution cells, in notebook order."""
    ids = []
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            ids.append(meta["grade_id"])
    return ids


def answer_cells(notebook: NotebookNode, ids: list[str]) -> dict[str, str]:
    """{grade_id: source} of the solution cells `ids` found in `notebook` (first copy wins)."""
    found: dict[str, str] = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if cell.cell_type == "code" and grade_id in ids and grade_id not in found:
            found[grade_id] = cell.source
    return {grade_id: found[grade_id] for grade_id in ids if grade_id in found}


def student_code(notebook: NotebookNode, release: NotebookNode) -> dict[str, str]:
    """{label: source} of every code cell a student can write in: each copy of each solution
    cell (label: its grade_id, then "grade_id (copy 2)"...) and every cell without nbgrader
    metadata, added anywhere ("cell 12", its position). The release's read-only cells (tests,
    set-up) are left out: nbgrader replaces them at grading."""
    read_only = {_grade_id(c) for c in release.cells if not _nbgrader(c).get("solution")} - {None}
    code: dict[str, str] = {}
    for index, cell in enumerate(notebook.cells):
        grade_id = _grade_id(cell)
        if cell.get("cell_type") != "code" or grade_id in read_only:
            continue
        label = grade_id or f"cell {index}"
        copy = 2
        while label in code:
            label, copy = f"{grade_id or index} (copy {copy})", copy + 1
        source = cell.get("source", "")
        code[label] = source if isinstance(source, str) else "".join(source)
    return code


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def normalise(source: str) -> str:
    """Code without comments, docstrings or formatting, independent statements sorted.

    A cell that is not valid Python (IPython magics aside) is returned without its comments
    and blank lines only, so that it can still be compared.
    """
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
        _strip_docstrings(tree)
        _canonical_order(tree)
        return ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not Python, null bytes,
        kept = (ln.split("#")[0].rstrip() for ln in lines)  # or nested beyond the parser
        return "\n".join(ln for ln in kept if ln.strip())


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):  # fmt: skip
            node.body = body[1:] or [ast.Pass()]


SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Import, ast.ImportFrom)


def _canonical_order(tree: ast.AST) -> None:
    """Sort each run of mutually independent simple statements by its renamed text."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, _sorted_runs(block))


def _sorted_runs(block: list[ast.stmt]) -> list[ast.stmt]:
    result: list[ast.stmt] = []
    run: list[ast.stmt] = []
    for statement in block:
        if isinstance(statement, SIMPLE) and all(_independent(statement, s) for s in run):
            run.append(statement)
            continue
        result += sorted(run, key=_shape)
        run = [statement] if isinstance(statement, SIMPLE) else []
        if not run:
            result.append(statement)
    return result + sorted(run, key=_shape)


def _names(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """(names written, names read) by a simple statement; a call may write what it reads."""
    written, read = set(), set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.alias):
            written.add((node.asname or node.name).split(".")[0])
    if isinstance(statement, ast.AugAssign | ast.Expr) or any(
        isinstance(n, ast.Call | ast.Subscript | ast.Attribute) and isinstance(
            getattr(n, "ctx", None), ast.Store) for n in ast.walk(statement)
    ):
        written |= read  # x += 1, out[i] = v, f(a) may change what they touch
    return written, read


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    written_a, read_a = _names(a)
    written_b, read_b = _names(b)
    return not (written_a & (read_b | written_b) or written_b & read_a)


def _shape(statement: ast.stmt) -> str:
    """A statement's text with every name replaced, so the order ignores renaming."""
    from copydetect.utils import filter_code

    return filter_code(ast.unparse(statement), "statement.py", "python")[0]


# ----------------------------------------------------------------------------- comparison
def _fingerprint(student: str, text: str, options: SimilarityOptions, boilerplate: np.ndarray):
    from copydetect import CodeFingerprint

    window = options.guarantee - options.noise + 1
    return CodeFingerprint(f"{student}.py", options.noise, window, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))  # fmt: skip


def _all_hashes(text: str, options: SimilarityOptions) -> set[int]:
    from copydetect import CodeFingerprint

    if not text:
        return set()
    return CodeFingerprint("release.py", options.noise, 1, language="python",
                           fp=io.StringIO(text)).hashes  # fmt: skip


def compare_answers(
    release: NotebookNode,
    notebooks: dict[str, NotebookNode],
    options: SimilarityOptions | None = None,
) -> SimilarityResult:
    """Compare the answer code of every pair of `notebooks` ({student: notebook}).

    release: the lab as handed out; its solution cells say which cells are answers, and their
    released text is boilerplate. Returns every pair that could be compared, highest first.
    """
    options = options or SimilarityOptions()
    if not solution_ids(release):
        raise ValueError("the release notebook has no solution cells (nbgrader solution: true)")
    released = "\n".join(normalise(s) for s in student_code(release, release).values())
    boilerplate = _all_hashes(released, options)
    release_lines = {line.strip() for line in released.splitlines() if line.strip()}

    answers, masked, not_compared = {}, {}, {}
    for student, notebook in sorted(notebooks.items()):
        cells = student_code(notebook, release)
        text = "\n".join(normalise(source) for source in cells.values())
        own = _mask_lines(text, release_lines)
        if len(own.strip()) < options.min_answer or not _all_hashes(own, options) - boilerplate:
            not_compared[student] = "no answer code beyond the release (stubs left as handed out)"
            continue
        answers[student], masked[student] = Answer(student, text, cells, own), own

    common = _common_hashes(masked, boilerplate, options)
    excluded = np.array(sorted(boilerplate | common), dtype=np.int64)
    prints = {s: _fingerprint(s, text, options, excluded) for s, text in masked.items()}
    for student in [s for s, fp in prints.items() if fp.token_coverage == 0]:
        not_compared[student] = "all of its answer code is release code or common to the class"
        del prints[student], answers[student]
    pairs = [_compare(a, b, prints) for a, b in itertools.combinations(sorted(prints), 2)]
    pairs.sort(key=lambda p: (-p.score, p.students))
    reference = []
    if options.with_reference:
        plain = np.array(sorted(boilerplate), dtype=np.int64)  # the class's common code counts
        own_prints = {s: _fingerprint(s, masked[s], options, plain) for s in answers}
        reference = compare_with_reference(own_prints, options, plain)
    return SimilarityResult(pairs, answers, not_compared, options, reference)


def _mask_lines(text: str, release_lines: set[str]) -> str:
    """`text` with each line the release has (a signature, a stub) blanked to spaces.

    The offsets stay those of `text`, so matches map back to it; no k-gram can then reach
    from a student's last line into the next released signature.
    """
    return "\n".join(" " * len(line) if line.strip() in release_lines else line
                     for line in text.split("\n"))  # fmt: skip


def _common_hashes(texts: dict[str, str], boilerplate: set[int],
                   options: SimilarityOptions) -> set[int]:  # fmt: skip
    """k-grams found in more than `common_share` of the answers (and in more than 2), in a
    class of at least `common_min_class` answers (none in a smaller one)."""
    if len(texts) < options.common_min_class:
        return set()
    counts: Counter[int] = Counter()
    for text in texts.values():
        counts.update(_all_hashes(text, options) - boilerplate)
    limit = max(2, int(options.common_share * len(texts)))
    return {h for h, n in counts.items() if n > limit}


def _compare(a: str, b: str, prints: dict) -> Pair:
    from copydetect import compare_files

    _, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
    empty = np.zeros((2, 0), dtype=int)
    slices_a = slices_a if np.size(slices_a) else empty
    slices_b = slices_b if np.size(slices_b) else empty
    shares = (min(float(share_a), 1.0), min(float(share_b), 1.0))
    return Pair((a, b), max(shares), shares, (slices_a.astype(int), slices_b.astype(int)))


# ----------------------------------------------------------------------------- the package
# What every student has installed and the labs ask them to write again: numpy layers, sizes and
# counts, metrics, filters (paths inside the cnncourse package).
REFERENCE = ("nn", "arithmetic.py", "metrics.py", "filters.py")
PACKAGE = "(cnncourse package)"  # the other side of a reference match in the reports


@dataclass(frozen=True)
class ReferenceSource:
    """The package's functions, normalised and joined: text[start:end] is one function."""

    text: str
    spans: list[tuple[str, int, int]]  # (module.function, start, end)
    sources: dict[str, str]  # module.function -> its source as written


@functools.cache  # read and normalised once per run, however many students are compared
def reference_source(paths: tuple[str, ...] = REFERENCE) -> ReferenceSource:
    """Every top-level function and method of the REFERENCE modules of the installed package."""
    import cnncourse

    package = Path(cnncourse.__file__).parent
    files = []
    for name in paths:
        path = package / name
        files += sorted(path.glob("*.py")) if path.is_dir() else [path]
    pieces, spans, sources, start = [], [], {}, 0
    for file in files:
        module = ".".join(file.relative_to(package.parent).with_suffix("").parts)
        text = file.read_text(encoding="utf-8")
        for qualname, node in _functions(ast.parse(text)):
            source = ast.get_source_segment(text, node) or ""
            normalised = normalise(source)
            name = f"{module}.{qualname}"
            sources[name] = source
            spans.append((name, start, start + len(normalised)))
            pieces.append(normalised)
            start += len(normalised) + 1
    return ReferenceSource("\n".join(pieces), spans, sources)


def _functions(tree: ast.Module):
    """(qualified name, node) of a module's top-level functions and its classes' methods."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{node.name}.{item.name}", item


def compare_with_reference(prints: dict, options: SimilarityOptions,
                           boilerplate: np.ndarray) -> list[ReferenceMatch]:  # fmt: skip
    """Each student's share of answer code found in the package's source, and where."""
    from copydetect import compare_files

    reference = reference_source()
    package = _fingerprint(PACKAGE, reference.text, options, boilerplate)
    matches = []
    for student, fingerprint in sorted(prints.items()):
        _, (share, _), (mine, theirs) = compare_files(fingerprint, package)
        mine = mine if np.size(mine) else np.zeros((2, 0), dtype=int)
        theirs = theirs if np.size(theirs) else np.zeros((2, 0), dtype=int)
        matches.append(ReferenceMatch(student, min(float(share), 1.0),
                                      _functions_hit(reference, theirs), mine.astype(int)))
    matches.sort(key=lambda m: (-m.score, m.student))
    return matches


def _functions_hit(reference: ReferenceSource, slices: np.ndarray) -> list[tuple[str, int]]:
    """(function, characters of it matched), most first, from slices of the joined text."""
    hit = np.zeros(len(reference.text) + 1, dtype=bool)
    for start, end in zip(slices[0], slices[1], strict=True):
        hit[start:end] = True
    found = [(name, int(hit[start:end].sum())) for name, start, end in reference.spans]
    return sorted(((n, c) for n, c in found if c), key=lambda nc: (-nc[1], nc[0]))


# ----------------------------------------------------------------------------- a course's lab
def read_submissions(
    folder: Path, lab: str, source: NotebookNode, release: NotebookNode
) -> tuple[dict[str, NotebookNode], dict[str, str]]:
    """({student: notebook}, {student: why unreadable}) from nbgrader's STUDENT/LAB/ layout.

    Notebooks are read (and misnamed ones found) as the grading driver reads them.
    """
    from cnncourse.grading.run.course import find_students
    from cnncourse.grading.run.validation import LabCells, check_submission

    cells = LabCells.from_source(lab, source, release)
    notebooks, unreadable = {}, {}
    for student in find_students(folder, lab):
        try:
            verdict = check_submission(folder / student / lab, cells)
        except OSError as error:  # a folder named LAB.ipynb, no permission to read, ...
            unreadable[student] = f"cannot read {lab}.ipynb: {error.strerror or error}"
            continue
        if verdict.notebook is None:
            unreadable[student] = "; ".join(verdict.reasons) or verdict.status
        else:
            notebooks[student] = verdict.notebook
    return notebooks, unreadable


SOLUTION = "(solution)"  # the name of the lab's own solution when it is compared too


def compare_lab(course, lab: str, *, submissions: Path | None = None,
                options: SimilarityOptions | None = None,
                with_solution: bool = False) -> SimilarityResult:  # fmt: skip
    """`compare_answers` for every submission of `lab` in a course (default: submitted/).

    with_solution: compare the source notebook's solution too, as the student "(solution)"
    (a leaked solution then shows as a pair with it).
    """
    course.check_lab(lab)
    release_path = course.release / lab / f"{lab}.ipynb"
    if not release_path.exists():
        raise ValueError(f"lab {lab!r} is not released: no {release_path} (cnncourse release)")
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(course.source / lab / f"{lab}.ipynb", as_version=4)
    folder = Path(submissions) if submissions else course.submitted
    notebooks, unreadable = read_submissions(folder, lab, source, release)
    if with_solution:
        notebooks[SOLUTION] = source
    result = compare_answers(release, notebooks, options)
    result.not_compared.update(unreadable)
    return result


# ----------------------------------------------------------------------------- reports
CAVEAT = ("A high score is a reason to look at two notebooks side by side, never a verdict: "
          "short answers, a formula the lab gives, or one natural way to write a function make "
          "honest students alike.")  # fmt: skip


def format_pairs(result: SimilarityResult, top: int = 10) -> str:
    """The terminal summary: flagged pairs, then the next most alike, and the caveat."""
    lines = [f"{len(result.answers)} answers compared, {len(result.pairs)} pairs; "
             f"{len(result.flagged)} at or above the threshold {result.options.threshold:g}"]
    for pair in result.pairs[: max(top, len(result.flagged))]:
        mark = "FLAG" if pair.score >= result.options.threshold else "    "
        lines.append(f"  {mark} {pair.score:5.2f}  {pair.students[0]} ~ {pair.students[1]}  "
                     f"(shares {pair.shares[0]:.2f} / {pair.shares[1]:.2f})")
    if result.reference:
        lines.append(f"compared with the package's own source ({', '.join(REFERENCE)}); "
                     f"{len(result.flagged_reference)} at or above the threshold "
                     f"{result.options.reference_threshold:g}")
    for match in result.reference[: max(3, len(result.flagged_reference))]:
        mark = "FLAG" if match.score >= result.options.reference_threshold else "    "
        lines.append(f"  {mark} {match.score:5.2f}  {match.student} ~ {PACKAGE}: "
                     f"{_resembles(match)}")
    for student, why in sorted(result.not_compared.items()):
        lines.append(f"  not compared: {student}: {why}")
    lines.append(CAVEAT)
    return "\n".join(lines)


def _resembles(match: ReferenceMatch, top: int = 3) -> str:
    """The package functions a student's answer resembles most, by characters matched."""
    names = [name for name, _ in match.functions[:top]]
    more = len(match.functions) - top
    return (", ".join(names) or "nothing") + (f" and {more} more" if more > 0 else "")


def _highlighted(answer: Answer, slices: np.ndarray) -> str:
    """HTML of the normalised answer with its matching passages marked (release lines never)."""
    text, compared = answer.normalised, answer.compared or answer.normalised
    hit = np.zeros(len(text), dtype=bool)
    for start, end in zip(slices[0], slices[1], strict=True):
        hit[start:end] = True
    position = 0
    for line, own in zip(text.split("\n"), compared.split("\n"), strict=True):
        if line != own:  # a release line, blanked before fingerprinting
            hit[position:position + len(line)] = False
        position += len(line) + 1
    out, start = [], 0
    for end in [*np.flatnonzero(np.diff(hit.astype(np.int8))) + 1, len(text)]:
        piece = html.escape(text[start:end])
        out.append(f"<mark>{piece}</mark>" if hit[start] else piece)
        start = end
    return "".join(out)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 90em; padding: 0 1em; }}
.caveat {{ background: #fff6d6; border-left: 4px solid #e0b000; padding: .6em 1em; }}
table.rank td, table.rank th {{ padding: .2em .8em; text-align: left; }}
.flag {{ color: #b00020; font-weight: bold; }}
.side {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
.side > div {{ min-width: 0; }}
pre {{ background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 85%; }}
mark {{ background: #ffd0d0; }}
</style></head><body>
<h1>{title}</h1>
<p class="caveat">{caveat}</p>
<p>{summary}</p>
<table class="rank"><tr><th>#</th><th>score</th><th>students</th><th>share of each</th></tr>
{rows}</table>
{details}
{reference}
<h2>How answers were compared</h2>
<p>All the code a student can write counts: every copy of each solution cell and every cell
they added; the release's text (signatures, docstrings, stubs) is ignored, and in a class of
{min_class} or more so is any passage found in more than {common:.0%} of the answers. Comments,
docstrings and formatting are removed, independent statements put in one order, and names
replaced (copydetect's tokenizer) before winnowing fingerprints (k = {noise} characters of
normalised code). The score is the share of the shorter answer found in the other. The code
below is shown as compared; each notebook's cells as written follow it.</p>
{not_compared}
</body></html>
"""


def similarity_html(result: SimilarityResult, lab: str, show: int = 10) -> str:
    """A self-contained page: the ranking, then each flagged (or top) pair side by side."""
    threshold = result.options.threshold
    rows, details = [], []
    shown = result.pairs[: max(show, len(result.flagged))]
    for rank, pair in enumerate(shown, 1):
        a, b = pair.students
        css = ' class="flag"' if pair.score >= threshold else ""
        rows.append(f'<tr><td>{rank}</td><td{css}>{pair.score:.2f}</td>'
                    f'<td><a href="#pair{rank}">{html.escape(a)} ~ {html.escape(b)}</a></td>'
                    f"<td>{pair.shares[0]:.2f} / {pair.shares[1]:.2f}</td></tr>")
        details.append(_pair_section(result, pair, rank))
    not_compared = "".join(f"<li>{html.escape(s)}: {html.escape(w)}</li>"
                           for s, w in sorted(result.not_compared.items()))
    return PAGE.format(
        title=html.escape(f"Similar answers: {lab}"),
        caveat=html.escape(CAVEAT),
        summary=html.escape(f"{len(result.answers)} answers, {len(result.pairs)} pairs, "
                            f"{len(result.flagged)} at or above the threshold {threshold:g}."),
        rows="\n".join(rows), details="\n".join(details),
        common=result.options.common_share, noise=result.options.noise,
        min_class=result.options.common_min_class, reference=_reference_section(result),
        not_compared=f"<h2>Not compared</h2><ul>{not_compared}</ul>" if not_compared else "",
    )  # fmt: skip


def _pair_section(result: SimilarityResult, pair: Pair, rank: int) -> str:
    columns = []
    for student, slices, share in zip(pair.students, pair.passages, pair.shares, strict=True):
        answer = result.answers[student]
        cells = "\n\n".join(f"# --- {grade_id}\n{source}"
                            for grade_id, source in answer.original.items())
        columns.append(
            f"<div><h3>{html.escape(student)} ({share:.0%} found in the other)</h3>"
            f"<pre>{_highlighted(answer, slices)}</pre>"
            f"<details><summary>cells as written</summary><pre>{html.escape(cells)}</pre>"
            f"</details></div>")
    a, b = (html.escape(s) for s in pair.students)
    return (f'<section id="pair{rank}"><h2>{rank}. {a} ~ {b}: {pair.score:.2f}</h2>'
            f'<div class="side">{"".join(columns)}</div></section>')


def _reference_section(result: SimilarityResult) -> str:
    """The answers compared with the package: a ranking, then each flagged one beside the
    package functions it resembles."""
    if not result.reference:
        return ""
    e = html.escape
    rows = []
    for match in result.reference:
        css = ' class="flag"' if match.score >= result.options.reference_threshold else ""
        rows.append(f"<tr><td{css}>{match.score:.2f}</td><td>{e(match.student)}</td>"
                    f"<td>{e(_resembles(match))}</td></tr>")
    sources = reference_source().sources if result.flagged_reference else {}
    details = []
    for match in result.flagged_reference:
        mine = _highlighted(result.answers[match.student], match.passages)
        theirs = e("\n\n".join(sources.get(name, "") for name, _ in match.functions[:3]))
        details.append(f"<section><h3>{e(match.student)} ~ {e(PACKAGE)}: {match.score:.2f}</h3>"
                       f'<div class="side"><div><pre>{mine}</pre></div>'
                       f"<div><pre>{theirs}</pre></div></div></section>")
    where = e(", ".join(REFERENCE))
    return (f"<h2>Compared with the package</h2><p>Each answer against the source of {where} "
            "in the installed cnncourse package, which every student has: the share of the "
            "answer found there, and the functions it resembles.</p>"
            '<table class="rank"><tr><th>score</th><th>student</th><th>resembles</th></tr>'
            f"{''.join(rows)}</table>{''.join(details)}")


def write_similarity_report(result: SimilarityResult, lab: str, folder: Path) -> Path:
    """autograded/LAB_similarity.html (folder is the course's autograded/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}_similarity.html"
    path.write_text(similarity_html(result, lab), encoding="utf-8")
    return path
