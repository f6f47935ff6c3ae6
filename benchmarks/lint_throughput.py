"""Lint throughput: ``ecrm lint`` against ``check-jsonschema`` over the same generated scenario files.

Generates a project with N valid, varied scenario files (deterministic seed), then times, in the same run and
over the same file list:

* ``ecrm lint`` in-process (``ecrm_dsl.project.lint.lint``), in a warm interpreter;
* ``ecrm lint <scenarios dir>`` as a subprocess (the CLI, interpreter start-up included);
* ``check-jsonschema --schemafile ecrm_dsl/schemas/scenario.schema.json <files>`` as a subprocess.

Each is run ``--repeat`` times, interleaved, and the best time counts. It prints files per second and the ratio
ecrm / check-jsonschema (> 1 means ecrm is faster). It is a measurement: it exits 0 whatever the ratio, and 1
only when something broke (the generated files do not lint clean, or check-jsonschema rejects them).

    python benchmarks/lint_throughput.py                      # N=1000, best of 3
    python benchmarks/lint_throughput.py --files 50 --repeat 1  # quick smoke run
    python benchmarks/lint_throughput.py --profile            # also show where in-process lint spends its time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


class BenchmarkError(Exception):
    """Something broke: the numbers would not mean anything."""


@dataclass
class Timing:
    name: str
    files: int
    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def files_per_second(self) -> float:
        return self.files / self.best


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


def run_cli(project: Project, ecrm: str) -> dict[str, object]:
    command = [ecrm, "lint", "--format", "json", "--fail-on", "error", str(project.scenario_dir)]
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchmarkError(f"`ecrm lint` exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    report: dict[str, object] = json.loads(done.stdout)
    if report["files_checked"] != len(project.scenario_files):
        raise BenchmarkError(
            f"`ecrm lint` checked {report['files_checked']} files, expected {len(project.scenario_files)}"
        )
    return report


def run_check_jsonschema(project: Project, check_jsonschema: str) -> None:
    command = [check_jsonschema, "--schemafile", str(SCENARIO_SCHEMA), *map(str, project.scenario_files)]
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchmarkError(
            f"check-jsonschema exited {done.returncode} on the generated files:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(project: Project, repeat: int) -> list[Timing]:
    """Time the three runs ``repeat`` times each, interleaved so that machine noise hits them alike."""
    ecrm, check_jsonschema = console_script("ecrm"), console_script("check-jsonschema")
    n = len(project.scenario_files)
    runs: list[tuple[Timing, Callable[[], object]]] = [
        (Timing("ecrm lint (in-process)", n), lambda: run_in_process(project)),
        (Timing("ecrm lint (CLI subprocess)", n), lambda: run_cli(project, ecrm)),
        (Timing("check-jsonschema (subprocess)", n), lambda: run_check_jsonschema(project, check_jsonschema)),
    ]
    for _ in range(repeat):
        for timing, run in runs:
            timing.runs.append(timed(run))
    return [timing for timing, _ in runs]


# --------------------------------------------------------------------------- output


def report_table(timings: list[Timing], repeat: int) -> str:
    width = max(len(t.name) for t in timings)
    lines = [f"{'tool':<{width}}  {'files':>6}  {'best s':>7}  {'files/s':>8}  runs (s)"]
    for t in timings:
        runs = " ".join(f"{r:.2f}" for r in t.runs)
        lines.append(f"{t.name:<{width}}  {t.files:>6}  {t.best:>7.2f}  {t.files_per_second:>8.1f}  {runs}")
    lines.append(f"(best of {repeat}, runs interleaved)")
    return "\n".join(lines)


def report_ratios(timings: list[Timing]) -> str:
    in_process, cli, schema_only = timings
    lines = ["ratio = ecrm files/s / check-jsonschema files/s (> 1: ecrm is faster)"]
    lines.append(
        f"  ecrm CLI        / check-jsonschema: {cli.files_per_second / schema_only.files_per_second:5.2f}x"
        "  (like for like: both start a fresh interpreter)"
    )
    lines.append(
        f"  ecrm in-process / check-jsonschema: "
        f"{in_process.files_per_second / schema_only.files_per_second:5.2f}x  (warm interpreter)"
    )
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
    parser.add_argument("--out", type=Path, help="generate the project here and keep it (default: a temp dir)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one in-process lint")
    parser.add_argument("--top", type=int, default=25, help="functions to show with --profile (default 25)")
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    return args


def benchmark(args: argparse.Namespace, out: Path) -> None:
    project = write_project(out, args.files, args.seed)
    print(report_project(project, args.seed))
    result = run_in_process(project)  # fails fast, before any timing, if the files are not clean
    timings = measure(project, args.repeat)
    print()
    print(report_table(timings, args.repeat))
    print()
    print(report_ratios(timings))
    print()
    print(report_checks(result))
    if args.profile:
        print()
        print(profile_in_process(project, args.top))


def check_out_dir(out: Path) -> None:
    """Refuse to write over a folder that holds something other than an earlier generated project."""
    if not out.exists() or not any(out.iterdir()):
        return
    marker = out / "ecrm.toml"
    if not marker.is_file() or not marker.read_text(encoding="utf-8").startswith(CONFIG.splitlines()[0]):
        raise BenchmarkError(f"{out} is not empty and holds no generated project; pick an empty or new folder")


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
