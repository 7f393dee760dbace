"""What tests are written with: the ``student``/``harness`` fixtures, checks and tolerances.

Every test of this course — the public ones a student runs and the hidden ones the grader
runs — is a function of ``student`` (the lesson module) and ``harness``
(:mod:`coursekit.harness`). Locally they are the real modules; in the grader they are proxies
to a sandboxed process. Write tests so they work with both:

- values that come back are tensors without autograd history, numbers, strings, or tuples,
  lists and dicts of those; other objects (models, optimizers) are handles that can only be
  called, have attributes read, or be passed back to ``student``/``harness`` functions;
- gradients, optimizers, data loaders and ``no_grad`` checks go through ``harness``;
- exceptions are checked with :func:`raises`, never ``pytest.raises``;
- shapes and dtypes are checked with :func:`expect_tensor` (it also rejects look-alikes).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping

import torch

# Tolerances, in one place. EXACT is for results a correct implementation reproduces to
# float32 rounding; LOOSE is for results that depend on the order of float operations.
EXACT = {"rtol": 1e-5, "atol": 1e-6}
LOOSE = {"rtol": 1e-4, "atol": 1e-4}
# SCALAR_MEAN: a mean of many float32 values (a loss), summed in another order; the tiny atol
# only matters for a mean of 0. DIAGNOSIS: whether a wrong result equals what one known mistake
# gives. The *_RELATIVE ones keep only the relative bound, for values far from 0 (a diagnosed
# mistake is often a multiple of the right value).
SCALAR_MEAN = {"rtol": LOOSE["rtol"], "atol": 1e-7}
DIAGNOSIS = {"rtol": 1e-3, "atol": 1e-4}
EXACT_RELATIVE = {"rtol": EXACT["rtol"], "atol": 0.0}
LOOSE_RELATIVE = {"rtol": LOOSE["rtol"], "atol": 0.0}
DIAGNOSIS_RELATIVE = {"rtol": DIAGNOSIS["rtol"], "atol": 0.0}


def is_close(actual: float, expected: float, tol: dict[str, float]) -> bool:
    """``math.isclose`` of two numbers within a named tolerance (``EXACT``, ``LOOSE``, ...)."""
    return math.isclose(actual, expected, rel_tol=tol["rtol"], abs_tol=tol["atol"])


def task(task_id: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a public test with the task it checks, e.g. ``@task("2.3")`` (a pytest marker)."""
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.task_id = task_id  # type: ignore[attr-defined]
        try:
            import pytest
        except ImportError:  # pragma: no cover - pytest is always installed with the course
            return fn
        return pytest.mark.task(task_id)(fn)
    return mark


def import_lesson_module(path: str | Path, module_name: str | None = None) -> ModuleType:
    """Import a lesson file by path (fresh each call) and return the module."""
    file = Path(path).resolve()
    name = module_name or f"_lesson_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None, f"cannot import {file}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(file.parent) not in sys.path:
        sys.path.insert(0, str(file.parent))
    spec.loader.exec_module(module)
    return module


def lesson_fixtures(conftest_file: str, student_file: str) -> tuple[Any, Any]:
    """The ``student`` and ``harness`` pytest fixtures for a lesson's public tests.

    ``conftest_file`` is the ``__file__`` of the lesson's ``tests/conftest.py``; the student
    file is looked up in the folder above it.
    """
    import pytest

    lesson_dir = Path(conftest_file).resolve().parent.parent

    @pytest.fixture(scope="session")
    def student() -> ModuleType:
        path = lesson_dir / student_file
        if not path.exists():
            pytest.fail(f"{student_file} is missing from {lesson_dir}: the tests need it next to "
                        "the tests/ folder.", pytrace=False)
        return import_lesson_module(path, Path(student_file).stem)

    @pytest.fixture(scope="session")
    def harness() -> ModuleType:
        import coursekit.harness
        return coursekit.harness

    return student, harness


def raises(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BaseException:
    """Call ``fn`` and return the exception it raised, which must be an ``exc_type``.

    Works locally and through the grader (where the student's exception arrives as a
    description carrying its class names).
    """
    try:
        fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001
        if is_exception_of(exc, exc_type):
            return exc
        got = getattr(exc, "type_name", type(exc).__name__)
        raise AssertionError(f"expected {exc_type.__name__}, but got {got}: {exc}") from None
    raise AssertionError(f"expected {exc_type.__name__} to be raised, but nothing was raised")


def is_exception_of(exc: BaseException, exc_type: type[BaseException]) -> bool:
    """``exc`` is an ``exc_type``: raised here, or raised by student code in the grader's worker
    (it then arrives as a description whose ``mro`` lists the class names)."""
    mro = getattr(exc, "mro", None)
    return isinstance(exc, exc_type) or (isinstance(mro, list) and exc_type.__name__ in mro)


def is_not_implemented(exc: BaseException) -> bool:
    return is_exception_of(exc, NotImplementedError)


def expect_tensor(value: Any, shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None,
                  what: str = "the result", finite: bool = True) -> torch.Tensor:
    """Check that ``value`` is a tensor of ``shape`` and ``dtype``, with finite values; return it."""
    assert isinstance(value, torch.Tensor), (
        f"{what} should be a torch.Tensor, but it is a {type(value).__name__}.")
    if shape is not None:
        assert tuple(value.shape) == tuple(shape), (
            f"{what} should have shape {tuple(shape)}, but it has shape {tuple(value.shape)}.")
    if dtype is not None:
        assert value.dtype == dtype, f"{what} should have dtype {dtype}, but it has {value.dtype}."
    if finite and value.is_floating_point():
        assert bool(torch.isfinite(value).all()), f"{what} contains NaN or infinite values."
    return value


def expect_pixels(images: torch.Tensor, what: str) -> None:
    """Check that ``images`` (a tensor of any shape) hold pixel values in [0, 1], as the data
    does and as a decoder ending in a sigmoid gives."""
    low, high = float(images.min()), float(images.max())
    assert low >= 0.0 and high <= 1.0, (
        f"{what} should lie in [0, 1] like the images, but they range over [{low:.3g}, {high:.3g}]. "
        "Is the decoder missing its final sigmoid? (A ReLU or nothing at the end leaves the values "
        "unbounded.)")


def expect_scalar(value: Any, what: str = "the result") -> float:
    """Check that ``value`` is a 0-d tensor or a Python number with a finite value; return it as float."""
    if isinstance(value, torch.Tensor):
        assert value.dim() == 0, (
            f"{what} should be a scalar (a 0-d tensor), but it has shape {tuple(value.shape)}: "
            "did you forget to reduce (mean or sum) over the batch?")
        number = float(value)
    else:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{what} should be a number, but it is a {type(value).__name__}.")
        number = float(value)
    assert number == number and abs(number) != float("inf"), f"{what} is {number}, not a finite number."
    return number


def warm_up_comparisons() -> None:
    """Pay now for what ``torch.testing.assert_close`` imports on its first call
    (``torch.distributed.tensor``, and with it sympy: seconds of CPU). A grading process calls
    this before any test's clock runs, so the first submission it marks is not charged for it."""
    torch.testing.assert_close(torch.zeros(1), torch.zeros(1))


def assert_close(actual: Any, expected: torch.Tensor, what: str, hint: str = "",
                 rtol: float = EXACT["rtol"], atol: float = EXACT["atol"]) -> None:
    """``torch.testing.assert_close`` with a message for a student: what, expected, got, likely why."""
    actual_t = expect_tensor(actual, what=what, finite=False) if not isinstance(actual, (int, float)) \
        else torch.tensor(float(actual))
    expected = torch.as_tensor(expected)
    try:
        torch.testing.assert_close(actual_t.to(expected.dtype), expected, rtol=rtol, atol=atol,
                                   check_device=False)
    except AssertionError as exc:
        shown_expected = _short(expected)
        shown_actual = _short(actual_t)
        message = f"{what}: expected {shown_expected}, got {shown_actual}."
        if hint:
            message += f" {hint}"
        if "shape" in str(exc).lower() and tuple(actual_t.shape) != tuple(expected.shape):
            message = (f"{what}: expected shape {tuple(expected.shape)}, got shape "
                       f"{tuple(actual_t.shape)}.") + (f" {hint}" if hint else "")
        raise AssertionError(message) from None


def diagnose(actual: Any, mistakes: Mapping[str, Any] | Iterable[tuple[str, Any]],
             tol: dict[str, float] = DIAGNOSIS) -> str:
    """Which known mistake gives ``actual``: the explanation of the first one whose result it
    equals within ``tol``, or "" when none does.

    ``mistakes`` maps an explanation for the student to what that mistake returns (a tensor of
    any shape, or a number), as a dict or as (explanation, result) pairs when two results share
    one explanation; a result of None is skipped (a mistake that cannot be told apart in this
    case). A result of another shape than ``actual`` never matches; values compare in float64.
    """
    if isinstance(actual, bool) or not isinstance(actual, (torch.Tensor, int, float)):
        return ""
    actual_t = torch.as_tensor(actual, dtype=torch.float64)
    for explanation, result in (mistakes.items() if isinstance(mistakes, Mapping) else mistakes):
        if result is None:
            continue
        result_t = torch.as_tensor(result, dtype=torch.float64)
        if result_t.shape == actual_t.shape and bool(torch.allclose(actual_t, result_t, **tol)):
            return explanation
    return ""


def _short(t: torch.Tensor) -> str:
    if t.numel() == 1:
        return f"{float(t.reshape(())):.6g}"
    flat = t.reshape(-1)[:6].tolist()
    body = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat)
    more = ", ..." if t.numel() > 6 else ""
    return f"tensor of shape {tuple(t.shape)} [{body}{more}]"


ANSWER_LETTERS = ("A", "B", "C", "D")


# What a failing stub says: an unwritten function (NotImplementedError "Task N.M: ... is not
# implemented yet") or an unanswered concept question (``Q1 = None``, see :func:`unanswered`).
UNANSWERED_PHRASE = "is not answered yet"
STUB_PHRASES = ("is not implemented yet", UNANSWERED_PHRASE)


def unanswered(name: str, numeric: bool = False) -> str:
    """What the concept question ``name`` says while it holds the starter's ``None``: in the
    public tests and in the grader's feedback alike."""
    kind = "a number" if numeric else "one of the letters " + ", ".join(ANSWER_LETTERS)
    return f"{name} {UNANSWERED_PHRASE}: replace None with {kind}."


def expect_answer_form(value: Any, name: str, numeric: bool = False) -> None:
    """Check that ``value``, the answer given to the concept question ``name`` (not None), has
    the form of an answer: a number for a numeric question, else one of :data:`ANSWER_LETTERS`."""
    if numeric:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{name} is a numeric question: the answer should be a number, not {value!r}.")
        return
    assert isinstance(value, str) and value.strip().upper() in ANSWER_LETTERS, (
        f"{name} should be one of the letters {', '.join(ANSWER_LETTERS)} (a string such as \"A\"), "
        f"but it is {value!r}.")


def expect_answer(student: Any, name: str, filename: str, numeric: bool = False) -> Any:
    """Check that the concept question ``name`` of ``filename`` is answered, in the form of an
    answer (not whether it is right: the hidden tests judge that); return the answer, a letter
    in capitals or a number."""
    assert hasattr(student, name), f"{name} is missing from {filename}: keep the line `{name} = ...`."
    value = getattr(student, name)
    if value is None:  # the starter's placeholder: a stub, reported as one line like the others
        raise NotImplementedError(unanswered(name, numeric))
    expect_answer_form(value, name, numeric)
    return value if numeric else value.strip().upper()
