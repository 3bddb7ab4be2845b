"""Mutation testing of the modules that decide correctness, each against its own fast unit tests, with mutmut.

    pip install -r benchmarks/requirements.txt          # mutmut, pinned
    python benchmarks/mutation.py --label before         # every module in MODULES, one after the other
    python benchmarks/mutation.py --label after optim    # one module

For each module the repository's files are copied to a working folder (default: a temporary one), mutmut is told to
mutate that module only and to run only that module's test file, and the counts and the surviving mutants (with their
diffs) are written to ``benchmarks/results/mutation-<label>.json`` and ``.md`` (one file per label; a later run of
some modules replaces those modules' entries and keeps the others).

mutmut 3 does not mutate decorated functions (its trampolines cannot wrap them). Two functions that decide
correctness carry ``@torch.no_grad()`` (``Adam.step``, ``train.validate``), so in the
working copy, and only there, that decorator is turned into a ``with torch.no_grad():`` around the function's body,
which behaves the same and lets mutmut reach them. Properties (``Reversal.match``) stay out of its reach.
"""

import argparse
import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# module (under seq2seq/) -> the test files run against its mutants. Add a module here to have it mutated.
MODULES: dict[str, list[str]] = {
    "optim": ["tests/unit/test_optim.py"],
    "model": ["tests/unit/test_model.py"],
    "train": ["tests/unit/test_train.py"],
    "run_folder": ["tests/unit/test_run_folder.py", "tests/unit/test_train.py"],
    "metrics": ["tests/unit/test_metrics.py"],
    "decoding": ["tests/unit/test_decoding.py"],
    "checkpoint": ["tests/unit/test_checkpoint.py", "tests/unit/test_checkpoint_checks.py"],
    "checkpoint_checks": ["tests/unit/test_checkpoint.py", "tests/unit/test_checkpoint_checks.py"],
}
STATUSES = ("killed", "survived", "timeout", "no tests", "suspicious", "skipped", "segfault", "not checked")


@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    counts: dict[str, int]
    score: float | None  # (killed + timeout) / (every mutant mutmut ran), as mutmut's own badge computes it
    seconds: float
    rechecked_from: str | None  # None: every mutant ran; else only that label's survivors ran, the rest kept theirs
    survivors: dict[str, str] = field(default_factory=dict)  # mutant name -> its diff
    statuses: dict[str, str] = field(default_factory=dict)  # mutant name -> status, every mutant


class NoGradToWith(cst.CSTTransformer):
    """``@torch.no_grad()`` on a function -> ``with torch.no_grad():`` around its body (the docstring stays first)."""

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        kept = [d for d in updated.decorators if cst.Module([]).code_for_node(d.decorator) != "torch.no_grad()"]
        if len(kept) == len(updated.decorators):
            return updated
        body = list(updated.body.body)
        docstring = body[:1] if body and _is_docstring(body[0]) else []
        rest = body[len(docstring) :]
        block = cst.With(
            items=[cst.WithItem(cst.parse_expression("torch.no_grad()"))], body=cst.IndentedBlock(body=rest)
        )
        return updated.with_changes(decorators=kept, body=updated.body.with_changes(body=[*docstring, block]))


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def copy_repository(work: Path) -> None:
    """The tracked and untracked-but-not-ignored files that the tests need: the package, the tests, pyproject."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "seq2seq", "tests", "pyproject.toml"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, work / name)


def prepare(work: Path, module: str, tests: list[str]) -> None:
    copy_repository(work)
    target = work / "seq2seq" / f"{module}.py"
    target.write_text(cst.parse_module(target.read_text()).visit(NoGradToWith()).code)
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths=seq2seq\n"
        f"only_mutate=seq2seq/{module}.py\n"
        "pytest_add_cli_args_test_selection=\n" + "".join(f"    {t}\n" for t in tests) + "pytest_add_cli_args=\n"
        "    -p\n    no:cacheprovider\n"
        # torch is not fork-safe after use; the fork server keeps the parent free of it
        "process_isolation=forkserver\n"
    )


def mutmut(work: Path, *args: str, check: bool = True) -> str:
    executable = Path(sys.executable).parent / "mutmut"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.run([str(executable), *args], cwd=work, env=env, capture_output=True, text=True)
    if check and process.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed ({process.returncode}):\n{process.stdout}\n{process.stderr}")
    return process.stdout


def run_module(
    module: str, work_root: Path, max_children: int, recheck: dict | None = None, collect: bool = False
) -> ModuleResult:
    """Mutate ``module`` and run its tests against every mutant, or with ``recheck`` (an earlier result of this
    module) only against that result's survivors, keeping the earlier status of the others: tests only ever added
    or strengthened cannot let a killed mutant survive. With ``collect``, run nothing: read what an earlier
    (perhaps interrupted) run left in the working folder; mutants it did not reach count as "not checked"."""
    tests = MODULES[module]
    work = work_root / module
    names = (
        [name for name, status in recheck["statuses"].items() if status in ("survived", "no tests")] if recheck else []
    )
    started = time.perf_counter()
    if not collect:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        prepare(work, module, tests)
        mutmut(work, "run", "--max-children", str(max_children), *names)
    seconds = time.perf_counter() - started
    statuses: dict[str, str] = dict(recheck["statuses"]) if recheck else {}
    for line in mutmut(work, "results", "--all", "true").splitlines():
        match = re.fullmatch(r"\s*(\S+): (.+)", line)
        if match and match.group(2) in STATUSES and (not recheck or match.group(1) in names):
            statuses[match.group(1)] = match.group(2)
    counts = {status: sum(s == status for s in statuses.values()) for status in STATUSES}
    ran = sum(counts[s] for s in ("killed", "timeout", "survived", "no tests", "suspicious", "segfault"))
    score = round((counts["killed"] + counts["timeout"]) / ran, 4) if ran else None
    survivors = {
        name: mutmut(work, "show", name).split("\n", 1)[-1].strip()
        for name, status in sorted(statuses.items())
        if status in ("survived", "no tests")
    }
    return ModuleResult(
        module, tests, counts, score, round(seconds, 1), recheck["label"] if recheck else None, survivors, statuses
    )


def store(path: Path, header: dict, module: str, result: ModuleResult) -> None:
    """Add one module's result to the label's files; several modules may run at once, so under a lock."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = json.loads(path.read_text()) if path.exists() else {"modules": {}}
        report.update(header)
        report["modules"][module] = {**asdict(result), "command": header["command"], "date": header["date"]}
        report["modules"] = {m: report["modules"][m] for m in MODULES if m in report["modules"]}
        path.write_text(json.dumps(report, indent=2) + "\n")
        path.with_suffix(".md").write_text(markdown(report))
    path.with_suffix(".lock").unlink(missing_ok=True)


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def markdown(report: dict) -> str:
    lines = [
        f"# Mutation testing: {report['label']}",
        "",
        f"{report['date']}, commit {report['commit']}, {report['machine']}, mutmut {report['mutmut']}; "
        f"`{report['command']}`",
        "",
        "| module | tests | mutants | killed | survived | no tests | timeout | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["modules"].values():
        c = r["counts"]
        total = sum(c.values())
        score = "n/a" if r["score"] is None else f"{r['score']:.1%}"
        lines.append(
            f"| {r['module']} | {', '.join(r['tests'])} | {total} | {c['killed']} | {c['survived']} | "
            f"{c['no tests']} | {c['timeout']} | {score} |"
        )
    lines += ["", "## Surviving mutants", ""]
    for r in report["modules"].values():
        for name, diff in r["survivors"].items():
            lines += [f"### {name}", "", "```diff", diff, "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--label", required=True, help="names the results files, e.g. before or after")
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    parser.add_argument("--recheck", metavar="LABEL", help="run only the mutants that survived in LABEL's results")
    parser.add_argument("--collect", action="store_true", help="run nothing; store what the --work folder holds")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    if unknown := [m for m in modules if m not in MODULES]:
        parser.error(f"not in MODULES: {', '.join(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"mutation-{args.label}.json"
    earlier = json.loads((RESULTS / f"mutation-{args.recheck}.json").read_text()) if args.recheck else None
    import mutmut as mutmut_package  # the pinned tool; imported here so --help works without it

    header = dict(
        label=args.label,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        commit=commit(),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        mutmut=mutmut_package.__version__,
        command="python benchmarks/mutation.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    with tempfile.TemporaryDirectory(prefix="seq2seq-mutation-") as temporary:
        work_root = args.work or Path(temporary)
        for module in modules:
            print(f"mutating seq2seq/{module}.py against {', '.join(MODULES[module])} ...", flush=True)
            recheck = {**earlier["modules"][module], "label": args.recheck} if earlier else None
            result = run_module(module, work_root, args.max_children, recheck, args.collect)
            store(path, header, module, result)
            print(f"  {result.counts} score {result.score} in {result.seconds} s", flush=True)
    print(f"wrote {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
