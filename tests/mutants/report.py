"""Mutation report: how many catalog mutants and automatic AST mutants the grader catches.

Run from the repository root::

    python -m tests.mutants.report [--lessons 1,2,3,4] [--auto N] [--seed S] [--jobs J]

Part 1 grades every catalog mutant (and correct alternative) of each selected lesson and
prints ``caught/total``; a mutant counts as caught when it loses points *and* a failed test's
feedback matches its ``message`` regex (the rule of ``test_catalog.py``).
Part 2 (``--auto N``) derives up to N single-point mutants from the reference's solution
blocks with ``ast`` and reports the mutation score. Survivors may be equivalent mutants:
they are listed with operator, line and before->after snippet for a human to judge.
Everything of one lesson is graded in one grader run.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.lessons import lesson_by_number, parse_lesson_list
from tests.helpers import failed_outputs, grade_sources, lesson_score, reference_source
from tests.mutants.catalog import all_alternatives, all_mutants

IMPORT_FAILURE = "could not be imported"
SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
SPECIAL_CONST = {0.5: 1.0, 1: 0, 2: 1}


@dataclass
class AutoMutant:
    """One automatic mutation: what changed, where, and the whole mutated (unparsed) module."""

    operator: str
    line: int
    before: str
    after: str
    source: str = ""
    context: str = ""

    def describe(self) -> str:
        """Operator, line, before -> after, and the original line when the snippet is a fragment."""
        text = f"{self.operator:<12} line {self.line:>4}: {_short(self.before)} -> {_short(self.after)}"
        if self.context and " ".join(self.before.split()) != self.context.split("  #")[0].strip():
            text += f"\n{'':34}in: {_short(self.context, 80)}"
        return text


def _short(text: str, width: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def solution_lines(text: str) -> set[int]:
    """Line numbers (1-based) strictly between ``# BEGIN SOLUTION`` and ``# END SOLUTION``."""
    lines, inside = set(), False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            inside = True
        elif stripped == "# END SOLUTION":
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _replace_child(tree: ast.AST, target: ast.AST, new: ast.AST) -> None:
    """Put ``new`` where ``target`` sits in ``tree`` (a field or a list entry)."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is target for v in value):
                value[[i for i, v in enumerate(value) if v is target][0]] = new
                return
    raise LookupError("node not found in tree")


Edit = Callable[[ast.AST, ast.AST], ast.AST]  # (tree, node) -> node now in the tree


def _mutations(node: ast.AST) -> list[tuple[str, Edit]]:
    """Every (operator name, edit) that applies to ``node``; an edit mutates a fresh tree."""
    found: list[tuple[str, Edit]] = []

    def swap_op(new_op: type) -> Edit:
        def edit(_tree: ast.AST, n: ast.AST) -> ast.AST:
            n.op = new_op()
            return n
        return edit

    def replace(make: Callable[[ast.AST], ast.AST]) -> Edit:
        def edit(tree: ast.AST, n: ast.AST) -> ast.AST:
            new = make(n)
            _replace_child(tree, n, new)
            return new
        return edit

    def set_attr(name: str, value: object) -> Edit:
        def edit(_tree: ast.AST, n: ast.AST) -> ast.AST:
            setattr(n, name, value)
            return n
        return edit

    if isinstance(node, ast.BinOp):
        if type(node.op) in SWAP_BINOP:
            found.append(("binop-swap", swap_op(SWAP_BINOP[type(node.op)])))
        if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) and node.right.value == 2:
            found.append(("pow2->pow1", replace(lambda n: n.left)))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in SWAP_CMP:
                def edit(_tree: ast.AST, n: ast.AST, i: int = i) -> ast.AST:
                    n.ops[i] = SWAP_CMP[type(n.ops[i])]()
                    return n
                found.append(("compare-swap", edit))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            found.append(("bool-flip", set_attr("value", not value)))
        elif isinstance(value, (int, float)):
            found.append(("const+1", set_attr("value", value + 1)))
            if value in SPECIAL_CONST:
                found.append(("const-change", set_attr("value", SPECIAL_CONST[value])))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        found.append(("neg-dropped", replace(lambda n: n.operand)))
    elif isinstance(node, (ast.Return, ast.Assign)) and node.value is not None:
        def negate(_tree: ast.AST, n: ast.AST) -> ast.AST:
            n.value = ast.UnaryOp(op=ast.USub(), operand=n.value)
            return n
        found.append(("neg-added", negate))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        found.append(("drop-call", replace(lambda n: ast.Pass())))
    if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords \
            and not any(isinstance(a, ast.Starred) for a in node.args):
        def swap_args(_tree: ast.AST, n: ast.AST) -> ast.AST:
            n.args = [n.args[1], n.args[0]]
            return n
        found.append(("swap-args", swap_args))
    if isinstance(node, ast.Attribute) and node.attr in ("mean", "sum"):
        found.append(("mean<->sum", set_attr("attr", "sum" if node.attr == "mean" else "mean")))
    return found


def auto_mutants(text: str) -> list[AutoMutant]:
    """All distinct single-point mutants of ``text`` inside its solution blocks (unparsed)."""
    lines = solution_lines(text)
    baseline = ast.unparse(ast.parse(text))
    seen: set[str] = {baseline}
    mutants: list[AutoMutant] = []
    for index, node in enumerate(ast.walk(ast.parse(text))):
        if getattr(node, "lineno", None) not in lines:
            continue
        for operator, edit in _mutations(node):
            tree = ast.parse(text)
            target = list(ast.walk(tree))[index]
            before = ast.unparse(target)
            after = ast.unparse(edit(tree, target))
            source = ast.unparse(ast.fix_missing_locations(tree))
            if source in seen:
                continue
            seen.add(source)
            context = " ".join(text.splitlines()[node.lineno - 1].split())
            mutants.append(AutoMutant(operator, node.lineno, before, after, source, context))
    return mutants


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def report_lesson(number: int, auto: int, seed: int, jobs: int, timeout: float) -> None:
    """Grade catalog mutants, alternatives and sampled auto mutants of one lesson; print tables."""
    lesson = lesson_by_number(number)
    points = lesson.points
    catalog = [m for m in all_mutants() if m.lesson == number]
    alternatives = [(a, p) for a, n, p in all_alternatives() if n == number]
    reference = reference_source(number)
    candidates = auto_mutants(reference) if auto else []
    rng = random.Random(seed)
    sampled = sorted(rng.sample(range(len(candidates)), min(auto, len(candidates))))
    chosen = [candidates[i] for i in sampled]

    subs: dict[str, dict[int, str]] = {m.id: {number: m.source()} for m in catalog}
    subs.update({f"alt-{a}": {number: p.read_text(encoding="utf-8")} for a, p in alternatives})
    stillborn = [i for i, m in enumerate(chosen) if not _compiles(m.source)]
    if chosen:
        subs["reference-unparsed"] = {number: ast.unparse(ast.parse(reference))}
        subs.update({f"auto-{i:03d}": {number: m.source} for i, m in enumerate(chosen)
                     if i not in stillborn})
    print(f"\n=== Lesson {number} ({lesson.folder}, {points} points) ===")
    with tempfile.TemporaryDirectory(prefix=f"mutants-l{number}-") as tmp:
        results = grade_sources(Path(tmp), subs, lessons=str(number), timeout=timeout, jobs=jobs)

    caught, survivors = 0, []
    for m in catalog:
        res = results[m.id]
        ok = lesson_score(res, number) < points and re.search(
            m.message, failed_outputs(res, number), re.IGNORECASE | re.DOTALL)
        caught += bool(ok)
        if not ok:
            survivors.append(f"  {m.id:<34} score {lesson_score(res, number):g}/{points}  {m.description}")
    print(f"Catalog mutants caught: {caught}/{len(catalog)}")
    for line in survivors:
        print(line)
    for a, _ in alternatives:
        score = lesson_score(results[f"alt-{a}"], number)
        verdict = "full marks" if score == points else "LOST POINTS"
        print(f"  alternative {a:<30} {score:g}/{points}  {verdict}")
        if score != points:
            print(f"{'':16}feedback: {_short(failed_outputs(results[f'alt-{a}'], number), 160)}")

    if not chosen:
        if auto:
            print("Automatic mutants: none found in the solution blocks")
        return
    base = lesson_score(results["reference-unparsed"], number)
    print(f"Automatic mutants: {len(chosen)} sampled of {len(candidates)} (seed {seed}); "
          f"unparsed reference scores {base:g}/{points}")
    killed, alive = 0, []
    for i, m in enumerate(chosen):
        if i in stillborn:
            continue
        res = results[f"auto-{i:03d}"]
        if IMPORT_FAILURE in failed_outputs(res, number):
            stillborn.append(i)
        elif lesson_score(res, number) < points:
            killed += 1
        else:
            alive.append(m)
    scored = len(chosen) - len(stillborn)
    rate = f"{100 * killed / scored:.0f}%" if scored else "n/a"
    print(f"  killed {killed}/{scored}  mutation score {rate}  stillborn {len(stillborn)} (not counted)")
    for i in sorted(stillborn):
        print(f"  stillborn  {chosen[i].describe()}")
    for m in alive:
        print(f"  survived (possibly equivalent)  {m.describe()}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and print the report of each selected lesson; 0 always, 2 on usage error."""
    parser = argparse.ArgumentParser(prog="python -m tests.mutants.report", description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", default="1,2,3,4", help="comma-separated lesson numbers")
    parser.add_argument("--auto", type=int, default=0, help="automatic mutants per lesson (0 = off)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed for automatic mutants")
    parser.add_argument("--jobs", type=int, default=2, help="parallel grading jobs")
    parser.add_argument("--timeout", type=float, default=60.0, help="grading timeout per submission (s)")
    args = parser.parse_args(argv)
    try:
        lessons = parse_lesson_list(args.lessons)
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    if args.auto < 0 or args.jobs < 1:
        parser.error("--auto must be >= 0 and --jobs >= 1")
    for lesson in lessons:
        report_lesson(lesson.number, args.auto, args.seed, args.jobs, args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
