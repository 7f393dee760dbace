"""The command line (SPEC §5): a thin click layer over the ``main(*, ...)`` of each verb."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Generative Foundations: build, release and grade the module's lessons."""


@cli.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results.json/feedback.md per submission and grades.csv.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded in parallel (default: the number of cores).")
@click.option("--lessons", default=None, help="Comma-separated lesson numbers, e.g. 2,3 (default: all).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Wall-clock seconds allowed per lesson of a submission.")
def grade(submissions: tuple[Path, ...], out: Path, jobs: int | None, lessons: str | None,
          timeout: float | None) -> None:
    """Grade SUBMISSION folders or zips (or folders of them) in isolation."""
    from autograder import grade as grading
    missing = [str(p) for p in submissions if not p.exists()]
    if missing:
        raise click.BadParameter(f"not found: {', '.join(missing)}", param_hint="SUBMISSIONS")
    try:
        from autograder.lessons import parse_lesson_list
        parse_lesson_list(lessons)
    except (ValueError, KeyError) as exc:
        raise click.BadParameter(str(exc).strip("'\""), param_hint="--lessons") from None
    grading.main(submissions=list(submissions), out=out, jobs=jobs or os.cpu_count() or 1,
                 lessons=lessons, timeout=timeout or grading.DEFAULT_LESSON_TIMEOUT, echo=click.echo)


@cli.command()
@click.option("--check", is_flag=True, help="Do not write; fail if assignments/ is out of date.")
@click.option("--lessons", default=None, help="Comma-separated lesson numbers (default: all).")
def build(check: bool, lessons: str | None) -> None:
    """Generate assignments/ (starters, public tests, student notebooks) from solutions/."""
    from autograder.build import assignments
    from autograder.lessons import parse_lesson_list
    selected = parse_lesson_list(lessons)
    if check:
        stale = assignments.stale_files(lessons=selected)
        if stale:
            click.echo("assignments/ is out of date; run `python -m autograder build`:", err=True)
            for line in stale:
                click.echo(f"  {line}", err=True)
            sys.exit(1)
        click.echo("assignments/ is up to date.")
        return
    written = assignments.main(lessons=selected)
    click.echo(f"Wrote {len(written)} files under assignments/.")


def main() -> None:
    cli(prog_name="python -m autograder")


if __name__ == "__main__":
    main()
