"""The command line: a thin click layer over the ``main(*, ...)`` of each verb (docs/cli.md is
generated from it)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from autograder.demo import DEMO_TIMEOUT
from autograder.grade import DEFAULT_LESSON_TIMEOUT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Generative Foundations: build, release and grade the module's lessons."""


@cli.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for <name>/results.json and feedback.md, grades.csv, summary.md, scores.png.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded in parallel (default: the number of cores).")
@click.option("--lessons", default=None, help="Comma-separated lesson numbers, e.g. 2,3 (default: all).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help=f"Wall-clock seconds allowed per lesson of a submission (default: {DEFAULT_LESSON_TIMEOUT:g}).")
@click.option("--force", is_flag=True,
              help="Regrade every submission, even those whose result is up to date.")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GitHub Classroom roster CSV: also write roster.md, canvas.csv and gradescope.csv, keyed by student.")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster: local:N (N worker processes here), slurm, or a "
                   "scheduler address such as tcp://host:8786 (needs the [cluster] extra).")
@click.option("--cluster-option", "cluster_options", multiple=True, metavar="KEY=VALUE",
              help="For --cluster slurm: queue, cores, memory, walltime, account, jobs, ... (repeatable).")
def grade(submissions: tuple[Path, ...], out: Path, jobs: int | None, lessons: str | None,
          timeout: float | None, force: bool, roster: Path | None, cluster: str | None,
          cluster_options: tuple[str, ...]) -> None:
    """Grade SUBMISSION folders or zips, or folders of them, each in isolation.

    A folder of submissions holds one sub-folder (e.g. a cloned assignment-username
    repository) or one .zip (e.g. an Otter export) per student. Results already in --out
    whose submission and grader are unchanged are kept (resumable); grades.csv and
    summary.md are rebuilt for all submissions at the end.
    """
    from autograder import grade as grading
    from autograder.lessons import parse_lesson_list
    missing = [str(p) for p in submissions if not p.exists()]
    if missing:
        raise click.BadParameter(f"not found: {', '.join(missing)}", param_hint="SUBMISSIONS")
    try:
        parse_lesson_list(lessons)
    except (ValueError, KeyError) as exc:
        raise click.BadParameter(str(exc).strip("'\""), param_hint="--lessons") from None
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} exists and is not a folder", param_hint="--out")
    if cluster is None and cluster_options:
        raise click.BadParameter("only with --cluster slurm", param_hint="--cluster-option")
    if cluster is not None and jobs is not None:
        raise click.BadParameter("not with --cluster: each Dask worker grades as many submissions "
                                 "at once as it has threads", param_hint="--jobs")
    roster_rows = None
    if roster is not None:
        from autograder.roster import RosterError, read_roster
        try:
            roster_rows = read_roster(roster)
        except RosterError as exc:
            raise click.BadParameter(str(exc), param_hint="--roster") from None
    options: dict[str, object] = {} if timeout is None else {"timeout": timeout}
    cluster_errors: tuple[type[Exception], ...] = ()
    if cluster is not None:
        options.update(_cluster_settings(cluster, cluster_options))
        from autograder.cluster import ClusterError
        cluster_errors = (ClusterError,)
    try:
        run = grading.main(submissions=list(submissions), out=out, jobs=jobs, lessons=lessons,
                           force=force, echo=click.echo, **options)
    except cluster_errors as exc:
        raise click.ClickException(str(exc)) from None
    if roster_rows is not None and not run.interrupted:
        from autograder.gradebook import export_for_roster
        export_for_roster(run.out, [p.name for p in run.planned], run.rows, roster_rows,
                          parse_lesson_list(lessons), echo=click.echo)
    if run.interrupted:
        sys.exit(130)
    if not run.complete:
        sys.exit(1)


def _cluster_settings(address: str, pairs: tuple[str, ...]) -> dict[str, object]:
    """``grade``'s cluster arguments, checked: Dask must be installed and options well formed."""
    try:
        from autograder import cluster as clustering
    except ImportError as exc:
        raise click.UsageError(f"--cluster needs Dask ({exc.name} is not installed): "
                               "pip install 'generative-foundations[cluster]'") from None
    try:
        options = clustering.parse_options(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--cluster-option") from None
    return {"cluster": address, "cluster_options": options}


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the samples and their grades (default: a new temp folder).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded in parallel (default: the number of cores).")
@click.option("--lessons", default=None,
              help="Comma-separated lesson numbers (default: every lesson with a reference solution).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help=f"Wall-clock seconds allowed per lesson (default: {DEMO_TIMEOUT:g}, so the infinite loop is short).")
def demo(out: Path | None, jobs: int | None, lessons: str | None, timeout: float | None) -> None:
    """Build sample submissions (reference, starter, buggy, hanging) and grade them."""
    from autograder import demo as demo_module
    from autograder.lessons import parse_lesson_list
    if out is not None and out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} exists and is not a folder", param_hint="--out")
    try:
        parse_lesson_list(lessons)
    except (ValueError, KeyError) as exc:
        raise click.BadParameter(str(exc).strip("'\""), param_hint="--lessons") from None
    options = {} if timeout is None else {"timeout": timeout}
    try:
        run = demo_module.main(out=out, jobs=jobs, lessons=lessons, echo=click.echo, **options)
    except demo_module.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    if not run.complete:
        sys.exit(130 if run.interrupted else 1)


@cli.command()
@click.option("--check", is_flag=True, help="Do not write; fail if assignments/ or docs/ is out of date.")
@click.option("--lessons", default=None, help="Comma-separated lesson numbers (default: all).")
def build(check: bool, lessons: str | None) -> None:
    """Generate assignments/ (starters, public tests, student notebooks) from solutions/, and
    the contract pages in docs/ from the lesson registry, the starters, the suites and this CLI."""
    from autograder.build import assignments, docs
    from autograder.lessons import parse_lesson_list
    selected = parse_lesson_list(lessons)
    if check:
        stale = assignments.stale_files(lessons=selected) + docs.stale_files()
        if stale:
            click.echo("assignments/ or docs/ is out of date; run `python -m autograder build`:", err=True)
            for line in stale:
                click.echo(f"  {line}", err=True)
            sys.exit(1)
        click.echo("assignments/ and docs/ are up to date.")
        return
    written = assignments.main(lessons=selected) + docs.main()
    click.echo(f"Wrote {len(written)} files under assignments/ and docs/.")


@cli.command("new-lesson")
@click.argument("number", type=click.IntRange(min=1))
@click.argument("slug")
@click.argument("student_file")
@click.option("--points", type=click.IntRange(min=1), required=True, help="The lesson's points.")
def new_lesson(number: int, slug: str, student_file: str, points: int) -> None:
    """Start lesson NUMBER from the template: solutions/NN-SLUG/STUDENT_FILE, its public tests and
    its hidden suite, each a working one-task example (CONTRIBUTING.md, "Adding a lesson")."""
    from autograder.build.lesson_template import write_lesson
    from autograder.lessons import Lesson
    lesson = Lesson(number, slug, student_file, None, points)
    try:
        written = write_lesson(lesson)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"Next: add {lesson!r} to LESSONS in autograder/lessons.py, then follow CONTRIBUTING.md.")


@cli.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the student template repository (empty, or a previous release).")
@click.option("--force", is_flag=True, help="Replace whatever is in --out (a .git folder is kept).")
def release(out: Path, force: bool) -> None:
    """Build the student repository for GitHub Classroom: starters, notebooks, public tests."""
    from autograder import release as releasing
    try:
        result = releasing.main(out=out, force=force)
    except (releasing.ReleaseError, releasing.LeakError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.summary())


@cli.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the student notebooks and one autograder.zip per notebook lesson.")
@click.option("--lessons", default=None, help="Comma-separated lesson numbers (default: every lesson with a notebook).")
def otter(out: Path, lessons: str | None) -> None:
    """Otter-Grader artefacts: student notebooks with grader.check cells and an autograder.zip per notebook lesson."""
    from autograder import otter as otter_artefacts
    from autograder.otter.artefacts import OtterArtefactError
    try:
        otter_artefacts.main(out=out, lessons=lessons, echo=click.echo)
    except OtterArtefactError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("return-feedback")
@click.argument("grades_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repos_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--branch", default="feedback", show_default=True, help="The branch the feedback is committed on.")
@click.option("--push", is_flag=True, help="Push the branch to each repository's origin (never forced).")
def return_feedback(grades_dir: Path, repos_dir: Path, branch: str, push: bool) -> None:
    """Commit each student's feedback.md from GRADES_DIR into their clone in REPOS_DIR, on a branch.

    REPOS_DIR/<name> gets GRADES_DIR/<name>/feedback.md; a dirty repository, or one that maps
    to no graded submission, is refused. A second run changes nothing. Exit status 1 when some
    repository was refused or failed.
    """
    from autograder import feedback_return
    try:
        outcomes = feedback_return.main(grades=grades_dir, repos=repos_dir, branch=branch, push=push,
                                        echo=click.echo)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--branch") from None
    if not all(outcome.ok for outcome in outcomes):
        sys.exit(1)


def main() -> None:
    cli(prog_name="python -m autograder")


if __name__ == "__main__":
    main()
