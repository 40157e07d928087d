"""Mutation testing of the engine, methods, validation, report rendering and export (issue 19).

Run through ``sh scripts/dev.sh mutate [--sample N] [--seed S] [--jobs J]``, apart from CI. mutmut
(configured in pyproject's ``[tool.mutmut]``) copies ``benchmarkkit/`` into ``mutants/``, makes
every mutant of the modules in scope and runs, for each, the selected tests that reach the mutated
function. This script adds what mutmut lacks: a random sample of the mutants, stratified by module
(the whole set is about 10,000 mutants — many hours on two cores; a sample of 600 took 43 minutes
and estimates the score within about 2.5 points), and a score per module.

    python scripts/mutate.py run [--sample N] [--seed S] [--jobs J]   run, then report
    python scripts/mutate.py report                                  the figures of the last run

The score is killed / (killed + survived + no tests + suspicious); a mutant stopped by the time
limit counts as killed (an infinite loop is caught). TESTING.md records the figures and explains
every survivor.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
SAMPLE = MUTANTS / "sample.txt"
MUTMUT = [sys.executable, "-c", "import sys; from mutmut.__main__ import cli; sys.exit(cli())"]
GENERATE = """
import os
from mutmut.__main__ import (copy_also_copy_files, copy_src_dir, create_mutants,
                             set_mutant_under_test)
os.makedirs("mutants", exist_ok=True)
set_mutant_under_test("mutant_generation")
copy_src_dir()
copy_also_copy_files()
create_mutants(os.cpu_count() or 2)
"""
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout"}
OTHER = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 37: "killed", None: "todo"}


def status(code: int | None) -> str:
    return KILLED.get(code) or OTHER.get(code) or "suspicious"  # type: ignore[arg-type]


def all_mutants() -> dict[str, tuple[str, int | None]]:
    """Every mutant made: name → (module file, exit code of its last run or None)."""
    out = {}
    for meta in sorted(MUTANTS.glob("benchmarkkit/**/*.py.meta")):
        module = str(meta.relative_to(MUTANTS))[: -len(".meta")]
        for name, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            out[name] = (module, code)
    return out


def mutmut(*args: str) -> None:
    done = subprocess.run([*MUTMUT, *args], cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(done.returncode)


def pick(mutants: dict[str, tuple[str, int | None]], size: int, seed: int) -> list[str]:
    """``size`` mutants at random, each module's share proportional to its mutants."""
    by_module: dict[str, list[str]] = defaultdict(list)
    for name, (module, _) in sorted(mutants.items()):
        by_module[module].append(name)
    rng = random.Random(seed)
    chosen = []
    for _module, names in sorted(by_module.items()):
        k = min(len(names), max(1, round(size * len(names) / len(mutants))))
        chosen += rng.sample(names, k)
    return sorted(chosen)


def run(size: int | None, seed: int, jobs: int) -> None:
    if size:
        # make (or bring up to date) every mutant, to draw the sample from
        subprocess.run([sys.executable, "-c", GENERATE], cwd=ROOT, check=True)
        names = pick(all_mutants(), size, seed)
        SAMPLE.write_text("\n".join(names) + "\n", encoding="utf-8")
        mutmut("run", "--max-children", str(jobs), *names)
    else:
        SAMPLE.unlink(missing_ok=True)
        mutmut("run", "--max-children", str(jobs))
    report()


def report() -> None:
    mutants = all_mutants()
    if SAMPLE.exists():
        wanted = set(SAMPLE.read_text(encoding="utf-8").split())
        mutants = {k: v for k, v in mutants.items() if k in wanted}
        print(f"sample of {len(mutants)} mutants ({SAMPLE.relative_to(ROOT)})")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for module, code in mutants.values():
        counts[module][status(code)] += 1
        counts["total"][status(code)] += 1
    cols = ["killed", "timeout", "survived", "no tests", "suspicious", "skipped", "todo"]
    print(f"| module | mutants | {' | '.join(cols)} | score |")
    print("|---" * (len(cols) + 3) + "|")
    for module, c in sorted(counts.items(), key=lambda kv: (kv[0] == "total", kv[0])):
        tested = c["killed"] + c["timeout"] + c["survived"] + c["no tests"] + c["suspicious"]
        score = f"{100 * (c['killed'] + c['timeout']) / tested:.1f} %" if tested else "–"
        cells = " | ".join(str(c[k]) for k in cols)
        print(f"| {module} | {sum(c.values())} | {cells} | {score} |")
    caught = ("killed", "timeout")
    left = sorted(k for k, (_, code) in mutants.items() if status(code) not in caught)
    if left:
        print("\nnot killed (`mutmut show NAME` shows the change):")
        for name in left:
            print(f"  {status(mutants[name][1]):<10} {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    go = sub.add_parser("run", help="make and test the mutants, then report")
    go.add_argument("--sample", type=int, default=None, help="test N random mutants, not all")
    go.add_argument("--seed", type=int, default=19, help="seed of the sample (default 19)")
    go.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    sub.add_parser("report", help="the figures of the last run")
    args = parser.parse_args()
    if args.command == "report":
        report()
    else:
        run(getattr(args, "sample", None), getattr(args, "seed", 19), getattr(args, "jobs", 2))


if __name__ == "__main__":
    main()
