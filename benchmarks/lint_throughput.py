"""Lint throughput: ``ecrm lint`` against ``check-jsonschema`` over the same generated scenario files.

Generates two projects from one seed, one with N valid, varied scenario files and one with a single file, then
measures, in the same run and over the same files:

* ``ecrm lint`` in-process (``ecrm_dsl.project.lint.lint``), in a warm interpreter;
* ``ecrm lint <scenarios dir>`` as a subprocess (the CLI, interpreter start-up included);
* ``check-jsonschema --schemafile ecrm_dsl/schemas/scenario.schema.json <files>`` as a subprocess.

Each runs once untimed (as any first run, it compiles bytecode and fills ecrm's build cache), then
``--repeat`` times, interleaved; the best run counts. The figure that counts is CPU time: a
subprocess's user + system time (``getrusage(RUSAGE_CHILDREN)``), this interpreter's own for the in-process
run; wall time is shown beside it. It prints the ratio ecrm / check-jsonschema of CPU time (< 1 means ecrm is
faster) and can write every figure to a JSON file. It is a measurement: it exits 0 whatever the ratio, and 1 only
when something broke (the generated files do not lint clean, or check-jsonschema rejects them).

    python benchmarks/lint_throughput.py                      # N=1000 and one file, best of 3
    python benchmarks/lint_throughput.py --files 50 --repeat 1  # quick smoke run
    python benchmarks/lint_throughput.py --json figures.json  # also write the figures
    python benchmarks/lint_throughput.py --profile            # also show where in-process lint spends its time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from scenario_factory import CONFIG, Project, write_project

from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import LintResult, lint
from ecrm_dsl.syntax.yaml_schema import schema_path

SCENARIO_SCHEMA = schema_path("scenario")
ECRM_CHECKS = (
    "YAML parse with positions + the same JSON Schema",
    "AST build (every condition parsed) + names resolved (segments, templates, events, attributes, params)",
    "types, satisfiability, consent and reachability, flow (time order, unreachable steps, waits, splits)",
    "project context (schema, policies, segments, templates) and cross-file rules (unique ids, priority)",
)
SCHEMA_CHECKS = "YAML parse and the JSON Schema only (shape; no names, types or flow)"
# The goals of issue 9, as ecrm's CPU time over check-jsonschema's: many files, and one file.
GOALS = {"many": 0.5, "one": 1.0}
IN_PROCESS, CLI, SCHEMA_ONLY = "ecrm lint (in-process)", "ecrm lint (CLI subprocess)", "check-jsonschema (subprocess)"


class BenchmarkError(Exception):
    """Something broke: the numbers would not mean anything."""


@dataclass
class Run:
    cpu: float  # seconds of CPU, user + system
    wall: float


@dataclass
class Timing:
    name: str
    files: int
    runs: list[Run] = field(default_factory=list)
    first: Run | None = None  # the untimed first run

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.cpu)

    @property
    def files_per_cpu_second(self) -> float:
        return self.files / self.best.cpu if self.best.cpu else float("inf")

    def figures(self) -> dict[str, object]:
        return {
            "tool": self.name,
            "files": self.files,
            "best_cpu_s": round(self.best.cpu, 4),
            "best_wall_s": round(self.best.wall, 4),
            "cpu_s": [round(run.cpu, 4) for run in self.runs],
            "wall_s": [round(run.wall, 4) for run in self.runs],
            "first_run_cpu_s": round(self.first.cpu, 4) if self.first else None,
        }


@dataclass
class Case:
    """One generated project and its three timings."""

    label: str  # "many" or "one"
    project: Project
    result: LintResult
    timings: dict[str, Timing] = field(default_factory=dict)

    def ratio(self, tool: str) -> float:
        return self.timings[tool].best.cpu / self.timings[SCHEMA_ONLY].best.cpu

    def wall_ratio(self, tool: str) -> float:
        return self.timings[tool].best.wall / self.timings[SCHEMA_ONLY].best.wall


# --------------------------------------------------------------------------- the three runs


def console_script(name: str) -> str:
    """The console script installed next to this interpreter, else the one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    if found is None:
        raise BenchmarkError(f"'{name}' is not installed; run: pip install -e '.[test]'")
    return found


def run_in_process(project: Project) -> LintResult:
    config = load_config(project.config)
    result = lint(config, [project.scenario_dir])
    if result.errors:
        first = next(d for d in result.diagnostics if d.effective_severity.value == "error")
        raise BenchmarkError(
            f"in-process lint found {result.errors} error(s) in the generated files, e.g. "
            f"{first.span.file}:{first.span.line}: {first.code} {first.message}"
        )
    expected = sorted(config.display(p) for p in project.scenario_files)
    if result.files != expected:
        raise BenchmarkError(f"in-process lint checked {len(result.files)} files, expected {len(expected)}")
    return result


# Both tools run as they do once installed: Python keeps the bytecode it compiles (a setting that forbids it
# would make ecrm, run from a source tree, recompile its own modules on every run, while check-jsonschema's
# were compiled when it was installed).
CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_child(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], Run]:
    """Run a command to its end; its CPU time is what this process's finished children used meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=CHILD_ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, Run(cpu, wall)


def run_cli(project: Project, ecrm: str) -> Run:
    command = [ecrm, "lint", "--format", "json", "--fail-on", "error", str(project.scenario_dir)]
    done, run = run_child(command, project.root)
    if done.returncode != 0:
        raise BenchmarkError(f"`ecrm lint` exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report["files_checked"] != len(project.scenario_files):
        raise BenchmarkError(
            f"`ecrm lint` checked {report['files_checked']} files, expected {len(project.scenario_files)}"
        )
    return run


def run_check_jsonschema(project: Project, check_jsonschema: str) -> Run:
    command = [check_jsonschema, "--schemafile", str(SCENARIO_SCHEMA), *map(str, project.scenario_files)]
    done, run = run_child(command, project.root)
    if done.returncode != 0:
        raise BenchmarkError(
            f"check-jsonschema exited {done.returncode} on the generated files:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return run


def timed_in_process(project: Project) -> Run:
    cpu, start = time.process_time(), time.perf_counter()
    run_in_process(project)
    return Run(time.process_time() - cpu, time.perf_counter() - start)


def measure(cases: list[Case], repeat: int) -> None:
    """Time every run of every case ``repeat`` times, interleaved so that machine noise hits them alike."""
    ecrm, check_jsonschema = console_script("ecrm"), console_script("check-jsonschema")
    runs: list[tuple[Timing, Callable[[], Run]]] = []
    for case in cases:
        n, project = len(case.project.scenario_files), case.project
        case.timings = {name: Timing(name, n) for name in (IN_PROCESS, CLI, SCHEMA_ONLY)}
        runs += [
            (case.timings[IN_PROCESS], partial(timed_in_process, project)),
            (case.timings[CLI], partial(run_cli, project, ecrm)),
            (case.timings[SCHEMA_ONLY], partial(run_check_jsonschema, project, check_jsonschema)),
        ]
    for timing, run in runs:  # untimed: compiles bytecode and fills ecrm's build cache, as any first run does
        timing.first = run()
    for _ in range(repeat):
        for timing, run in runs:
            timing.runs.append(run())


# --------------------------------------------------------------------------- output


def report_table(cases: list[Case], repeat: int) -> str:
    timings = [t for case in cases for t in case.timings.values()]
    width = max(len(t.name) for t in timings)
    lines = [f"{'tool':<{width}}  {'files':>6}  {'cpu s':>7}  {'wall s':>7}  {'files/cpu s':>11}  cpu runs (s)"]
    for t in timings:
        runs = " ".join(f"{r.cpu:.2f}" for r in t.runs)
        best = t.best
        numbers = f"{best.cpu:>7.2f}  {best.wall:>7.2f}  {t.files_per_cpu_second:>11.1f}"
        lines.append(f"{t.name:<{width}}  {t.files:>6}  {numbers}  {runs}")
    lines.append(f"(best of {repeat} by CPU time, runs interleaved, after one untimed run of each)")
    return "\n".join(lines)


def report_ratios(cases: list[Case]) -> str:
    lines = ["ratio = ecrm CPU time / check-jsonschema CPU time on the same files (< 1: ecrm is faster)"]
    for case in cases:
        n = len(case.project.scenario_files)
        files = f"{n} file{'s' if n != 1 else ''}"
        cli = case.ratio(CLI)
        verdict = "meets" if cli <= GOALS[case.label] else "misses"
        lines.append(
            f"  {files:>10}, ecrm CLI       : {cli:5.2f}  (wall {case.wall_ratio(CLI):.2f}; "
            f"goal <= {GOALS[case.label]:.2f}: {verdict}; both start a fresh interpreter)"
        )
        lines.append(f"  {files:>10}, ecrm in-process: {case.ratio(IN_PROCESS):5.2f}  (warm interpreter)")
    return "\n".join(lines)


def report_checks(result: LintResult) -> str:
    return "\n".join(
        [
            "what each checks:",
            "  ecrm lint        : " + "\n                     ".join(ECRM_CHECKS),
            f"                     -> {len(result.files)} files, {result.errors} errors, {result.warnings} warnings",
            f"  check-jsonschema : {SCHEMA_CHECKS}",
        ]
    )


def report_project(project: Project, seed: int) -> str:
    mix = ", ".join(f"{name} {count}" for name, count in sorted(project.features.items()))
    return (
        f"generated {len(project.scenario_files)} scenario files in {project.scenario_dir} (seed {seed})\n  mix: {mix}"
    )


def figures(cases: list[Case], args: argparse.Namespace) -> dict[str, object]:
    """Everything measured, for ``--json``."""
    return {
        "benchmark": "lint_throughput",
        "version": 2,
        "seed": args.seed,
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "cases": [
            {
                "case": case.label,
                "files": len(case.project.scenario_files),
                "errors": case.result.errors,
                "warnings": case.result.warnings,
                "goal_cli_cpu_ratio": GOALS[case.label],
                "cli_cpu_ratio": round(case.ratio(CLI), 3),
                "cli_wall_ratio": round(case.wall_ratio(CLI), 3),
                "in_process_cpu_ratio": round(case.ratio(IN_PROCESS), 3),
                "timings": [t.figures() for t in case.timings.values()],
            }
            for case in cases
        ],
    }


def profile_in_process(project: Project, top: int) -> str:
    """Where one warm in-process lint spends its time: the functions with the most own time."""
    run_in_process(project)  # warm the caches first, as the timed runs are
    profiler = cProfile.Profile()
    profiler.runcall(run_in_process, project)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats("ecrm_dsl", top)
    return out.getvalue()


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="scenario files to generate (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool; the best counts (default 3)")
    parser.add_argument("--seed", type=int, default=20240601, help="generator seed (default 20240601)")
    parser.add_argument(
        "--out", type=Path, help="generate the projects here (many/ and one/) and keep them (default: a temp dir)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--profile", action="store_true", help="also cProfile one in-process lint")
    parser.add_argument("--top", type=int, default=25, help="functions to show with --profile (default 25)")
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    return args


def prepare(label: str, out: Path, files: int, seed: int) -> Case:
    project = write_project(out, files, seed)
    print(report_project(project, seed))
    result = run_in_process(project)  # fails fast, before any timing, if the files are not clean
    return Case(label, project, result)


def benchmark(args: argparse.Namespace, out: Path) -> None:
    cases = [prepare("many", out / "many", args.files, args.seed)]
    if args.files > 1:
        cases.append(prepare("one", out / "one", 1, args.seed))
    measure(cases, args.repeat)
    print()
    print(report_table(cases, args.repeat))
    print()
    print(report_ratios(cases))
    print()
    print(report_checks(cases[0].result))
    if args.json is not None:
        args.json.write_text(json.dumps(figures(cases, args), indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    if args.profile:
        print()
        print(profile_in_process(cases[0].project, args.top))


def check_out_dir(out: Path) -> None:
    """Refuse to write over a folder that holds something other than projects generated earlier."""
    if not out.exists():
        return
    for entry in out.iterdir():
        marker = entry / "ecrm.toml"
        generated = marker.is_file() and marker.read_text(encoding="utf-8").startswith(CONFIG.splitlines()[0])
        if entry.name not in ("many", "one") or not generated:
            raise BenchmarkError(f"{out} holds something else than generated projects; pick an empty or new folder")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.out is not None:
            check_out_dir(args.out)
            benchmark(args, args.out.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="ecrm-bench-") as tmp:
                benchmark(args, Path(tmp))
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
