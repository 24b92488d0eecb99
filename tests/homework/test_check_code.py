"""check-code: a student's PyTorch file graded against a spec (cnnspec.homework.check_code).

The submissions are made up, in tests/fixtures/submissions/code/; the whole feedback of each graded one is
in expected/ (regenerate by hand after a deliberate change, and read the diff). Every submission runs in a
child process: on Linux they are forked from one server that has imported torch, so that a case costs tens
of milliseconds after the first (about 2 s); the two cases of a fresh process each pay torch's import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

import cnnspec
from cnnspec.homework import check_code as student_code
from cnnspec.lang.errors import CnnspecError
from cnnspec.homework.feedback import feedback_text
from cnnspec.homework.grading import grade_class
from cnnspec.homework.check_code import check_code

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
CODE = Path(__file__).resolve().parents[1] / "fixtures" / "submissions" / "code"
EXPECTED = CODE / "expected"
SPECS = {name: ROOT / "specs" / f"{name}.cnn" for name in ("lenet_like", "lenet")}
MAX = {"lenet_like": 12, "lenet": 14}  # one point per layer (10 and 12), extra layers, total parameters


def spec(name: str):
    net = cnnspec.resolve(cnnspec.load(SPECS[name]))
    return net, cnnspec.analyze(net)


def grade(spec_name: str, submission: str, **options):
    options.setdefault("timeout", 20.0)
    return check_code(*spec(spec_name), CODE / submission, student_id=Path(submission).stem, **options)


def ungradable_reason(spec_name: str, submission: str, **options) -> str:
    """The one reason of a submission that could not be graded, after checking that it scores 0 of the maximum."""
    result = grade(spec_name, submission, **options)
    assert not result.gradable
    assert (result.score, result.max_score) == (0, MAX[spec_name])
    assert len(result.checks) == 1 and result.checks[0].feedback == result.summary
    prefix = "Your code could not be graded: "
    assert result.summary.startswith(prefix) and result.summary.endswith(".")
    return result.summary[len(prefix):-1]


# ------------------------------------------------------------------------------------- graded


@pytest.mark.parametrize("spec_name, submission, score", [
    ("lenet_like", "lenet_like_sequential.py", 12),  # nn.Sequential, nn.Flatten
    ("lenet_like", "lenet_like_functional.py", 12),  # F.max_pool2d, F.relu, x.view(-1, 256), as the notes write it
    ("lenet", "lenet_d2l.py", 14),  # d2l's LazyConv2d / LazyLinear, sized by the dry forward
    ("lenet", "lenet_instance.py", 14),  # no class: `model = nn.Sequential(...)`
    ("lenet_like", "lenet_like_wrong_padding.py", Fraction(21, 2)),
    ("lenet", "lenet_no_padding.py", Fraction(25, 2)),
    ("lenet", "lenet_missing_sigmoid.py", 13),
    ("lenet_like", "lenet_like_extras.py", 9),
    ("lenet_like", "lenet_like_prints.py", 12),
])
def test_graded_feedback(spec_name, submission, score):
    result = grade(spec_name, submission)
    assert result.gradable
    assert (result.score, result.max_score) == (score, MAX[spec_name])
    expected = (EXPECTED / f"{Path(submission).stem}.txt").read_text(encoding="utf-8")
    assert feedback_text(result) == expected


def test_first_divergence_names_the_argument():
    """The issue's example: the divergence, the two shapes, and the argument that makes them differ."""
    result = grade("lenet_like", "lenet_like_wrong_padding.py")
    assert result.summary == ("First difference, at layer 4 (CONV(64, k=5)): your 2nd Conv2d outputs 64×8×8, the "
                              "spec's outputs 64×4×4: padding 2 where the spec has padding 0.")
    layer4 = result.checks[3]
    assert (layer4.name, layer4.points, layer4.max_points) == ("layer 4: CONV(64, k=5)", Fraction(1, 2), 1)
    assert result.notes == ("Credit carried forward: layers 5, 6, 7 and 8 differ from the spec only because of an "
                            "earlier difference, and keep their points.",)


def test_activations_and_flatten_written_either_way_are_the_same_layers():
    """F.relu and nn.ReLU are both RELU, x.view(-1, 256) and nn.Flatten both FLATTEN: the two get the same checks."""
    functional = grade("lenet_like", "lenet_like_functional.py")
    sequential = grade("lenet_like", "lenet_like_sequential.py")
    assert functional.checks == sequential.checks
    assert [c.name for c in functional.checks] == [
        "layer 1: CONV(32, k=5)", "layer 2: MAXPOOL(3)", "layer 3: RELU", "layer 4: CONV(64, k=5)",
        "layer 5: MAXPOOL(2)", "layer 6: RELU", "layer 7: FLATTEN", "layer 8: FC(200)", "layer 9: RELU",
        "layer 10: FC(10)", "layers not in the spec", "total parameters"]


def test_spec_written_differently_still_matches(tmp_path):
    """`p=same`, `k=(5, 5)`, `p=valid`, a pool's default stride and an FC that flattens by itself (the
    student's nn.Flatten before it is no extra layer) all compare equal to d2l's LeNet."""
    path = tmp_path / "lenet_same.cnn"
    path.write_text("INPUT(1, 28, 28)\n-> CONV(6, k=(5, 5), p=same) -> SIGMOID -> AVGPOOL(2)\n"
                    "-> CONV(16, k=5, p=valid) -> SIGMOID -> AVGPOOL(2, s=2)\n"
                    "-> FC(120) -> SIGMOID -> FC(84) -> SIGMOID -> FC(10)\n", encoding="utf-8")
    net = cnnspec.resolve(cnnspec.load(path))
    result = check_code(net, cnnspec.analyze(net), CODE / "lenet_d2l.py")
    assert (result.score, result.max_score) == (13, 13)
    assert result.summary == ("Your model matches the spec: every layer has the spec's kind, output shape and "
                              "parameter count, 61,706 parameters in all.")


def test_model_among_several_classes():
    """A helper block that takes its sizes and the model: the model is the one built without arguments, and a
    note says so; the class named is taken as it is."""
    result = grade("lenet_like", "two_classes.py")
    assert (result.score, result.max_score, result.gradable) == (12, 12, True)
    assert result.notes == ("The model graded is `Net`: of your file's torch.nn.Module classes (`ConvBlock` and "
                            "`Net`), the only one built without arguments.",)
    named = grade("lenet_like", "two_classes.py", class_name="Net")
    assert (named.score, named.checks, named.notes) == (12, result.checks, ())
    assert ungradable_reason("lenet_like", "two_classes.py", class_name="Model") == (
        "your file defines no class `Model`; its torch.nn.Module classes: `ConvBlock`, `Net`")


def test_two_models_need_a_class_name():
    """Two classes built without arguments: a clear refusal without --class, graded with it."""
    assert ungradable_reason("lenet_like", "two_models.py") == (
        "your file defines 2 torch.nn.Module classes that can be built without arguments (`Net`, `NetWithDropout`) "
        "and the grader was not told which one is the model (check-code --class NAME)")
    assert grade("lenet_like", "two_models.py", class_name="Net").score == 12
    with_dropout = grade("lenet_like", "two_models.py", class_name="NetWithDropout")
    assert (with_dropout.score, with_dropout.checks[-2].feedback) == (
        11, "Your model has layers the spec does not have:\nYour 1st Dropout (DROPOUT), after your 3rd ReLU")


def test_parameterless_layer_has_only_its_output_to_get_right(tmp_path):
    """A pool with the wrong padding: no half point for the parameters it does not have."""
    source = (CODE / "lenet_like_sequential.py").read_text(encoding="utf-8")
    path = tmp_path / "pool_padding.py"
    source = source.replace("nn.MaxPool2d(2)", "nn.MaxPool2d(2, padding=1)")
    source = source.replace("nn.Linear(256, 200)", "nn.LazyLinear(200)")
    path.write_text(source, encoding="utf-8")
    result = check_code(*spec("lenet_like"), path)
    layer5 = result.checks[4]
    assert (layer5.name, layer5.points, layer5.feedback) == (
        "layer 5: MAXPOOL(2)", 0,
        "Your 2nd MaxPool2d outputs 64×3×3, the spec's outputs 64×2×2: padding 1 where the spec has padding 0.")
    assert result.score == 10  # and the total parameters, which the wider flatten changes


def test_print_flood_is_capped():
    """Megabytes of prints: full marks, a note, and only the first 10,000 characters kept."""
    net, report = spec("lenet_like")
    submission = student_code.run_submission(CODE / "lenet_like_prints.py", report.input_shape, timeout=20)
    assert submission.problem == ""
    epochs = sum(len(f"epoch {i}: loss 0.{i:06d} ") + 61 for i in range(20_000))
    # the dry forward and the trace (which knows the shape) print the shape
    forward = 2 * len("input torch.Size([2, 1, 28, 28]) \n") + 2 * 1_000_000
    assert submission.printed == epochs + forward == 3_748_958
    assert len(submission.output) == student_code.OUTPUT_CAP
    assert submission.output.startswith("epoch 0: loss 0.000000 ====")
    assert grade("lenet_like", "lenet_like_prints.py").notes == (
        "Your code printed 3,748,958 characters; the grader kept the first 10,000 (printing is not graded).",)


# ---------------------------------------------------------------------------------- ungradable


@pytest.mark.parametrize("spec_name, submission, reason", [
    ("lenet_like", "lenet_like_wrong_flatten.py",
     "the forward pass on a batch of zeros of shape 2×1×28×28 raised RuntimeError: shape '[-1, 1024]' is invalid "
     "for input of size 512 (line 18)"),
    ("lenet", "lenet_wrong_in_features.py",
     "the forward pass on a batch of zeros of shape 2×1×28×28 raised RuntimeError: mat1 and mat2 shapes cannot be "
     "multiplied (2x400 and 256x120) (line 20)"),
    ("lenet_like", "syntax_error.py",
     "your file is not valid Python: line 7: expected ':': `def __init__(self)` (SyntaxError)"),
    ("lenet_like", "raises_in_init.py",
     "`Net()` raised AttributeError: 'Net' object has no attribute 'flat_features' (line 10)"),
    ("lenet_like", "needs_arguments.py",
     "`Net()` needs 2 arguments (in_channels, num_classes), but the grader builds your model with none: give every "
     "argument of `__init__` a default value"),
    ("lenet_like", "crashes_natively.py", "it crashed (SIGSEGV) while running the top level of your file"),
    ("lenet_like", "unsupported_layer.py",
     "the grader cannot compare your model with the spec: unsupported module `lstm` (torch.nn.LSTM), called in the "
     "forward of Net as node `lstm`: cnnspec has no layer for it"),
])
def test_ungradable(spec_name, submission, reason):
    assert ungradable_reason(spec_name, submission) == reason


def test_output_before_a_crash_is_shown():
    result = grade("lenet_like", "crashes_natively.py")
    assert result.notes == ("What your code printed:", "    about to crash")


def test_memory_limit():
    assert ungradable_reason("lenet_like", "allocates_too_much.py", memory_mb=2048) == (
        "`Net()` ran out of memory (limit 2048 MiB): RuntimeError: DefaultCPUAllocator: can't allocate memory: you "
        "tried to allocate 8589934592 bytes. Error code 12 (Cannot allocate memory) (line 10)")


def test_memory_limit_is_the_students_share():
    """The limit is what the student's code may add: torch's own 0.7 GiB of mappings are not counted."""
    result = grade("lenet", "lenet_d2l.py", memory_mb=64)
    assert (result.score, result.max_score) == (14, 14)


@pytest.mark.parametrize("submission, reason", [
    ("hangs_in_forward.py", "it was still running the forward pass after 1.5 s, the time limit"),
    ("trains_on_import.py",
     "it was still running the top level of your file after 1.5 s, the time limit (code outside functions runs "
     "when the file is imported: put training and data loading under `if __name__ == \"__main__\":`)"),
])
def test_time_limit(submission, reason):
    student_code._server()  # started beforehand, so that the time measured is the submission's
    start = time.monotonic()
    assert ungradable_reason("lenet_like", submission, timeout=1.5) == reason
    assert 1.5 <= time.monotonic() - start < 4


def test_usage_errors_raise(tmp_path):
    net, report = spec("lenet")
    with pytest.raises(CnnspecError, match="no such file"):
        check_code(net, report, tmp_path / "missing.py")
    with pytest.raises(CnnspecError, match="is a directory"):
        check_code(net, report, tmp_path)
    with pytest.raises(CnnspecError, match="time limit must be above 0"):
        check_code(net, report, CODE / "lenet_d2l.py", timeout=0)


# ----------------------------------------------------------------------------- the child process


def test_fresh_process_when_the_fork_server_is_lost(monkeypatch):
    """Without the fork server (lost, or not on Linux) each submission gets a fresh process, and grades the same;
    the time limit starts once the child has imported torch."""
    class Lost:
        def run(self, directory, timeout):
            raise student_code._ServerLost()

    monkeypatch.setattr(student_code, "_server", lambda: Lost())
    with pytest.warns(RuntimeWarning, match="fork server stopped answering"):
        result = grade("lenet", "lenet_d2l.py")
    assert feedback_text(result) == (EXPECTED / "lenet_d2l.txt").read_text(encoding="utf-8")
    monkeypatch.setattr(student_code, "USE_FORK_SERVER", False)
    assert ungradable_reason("lenet_like", "hangs_in_forward.py", timeout=1.5) == (
        "it was still running the forward pass after 1.5 s, the time limit")


def test_grade_class_in_threads():
    """A class graded with threads (each grading is a child process already), in the order of the paths."""
    net, report = spec("lenet_like")
    paths = [CODE / name for name in ("lenet_like_functional.py", "syntax_error.py", "lenet_like_wrong_padding.py",
                                      "lenet_like_sequential.py")]
    grades = grade_class(paths, lambda path: check_code(net, report, path, student_id=path.stem), jobs=3,
                         processes=False)
    assert [(g.student, g.score, g.max_score) for g in grades] == [
        ("lenet_like_functional", 12, 12), ("syntax_error", 0, 12), ("lenet_like_wrong_padding", Fraction(21, 2), 12),
        ("lenet_like_sequential", 12, 12)]


def test_importing_the_grader_does_not_import_torch():
    code = "import cnnspec.homework.check_code, sys; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (102, "102nd"), (111, "111th")])
def test_ordinal(n, text):
    assert student_code._ordinal(n) == text


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "squeezenet1_1", "shufflenet_v2_x1_0",
                                  "mobilenet_v3_small", "conv1d_net"])
def test_the_source_cnnspec_lower_writes_scores_full_marks(name, tmp_path):
    """A student who hands in what `cnnspec lower` writes for a spec (blocks as classes with arguments,
    loops, residuals, concatenations, gates) has every layer of that spec, whatever the network."""
    from cnnspec.bridge.codegen import generate

    program = cnnspec.load(ROOT / "specs" / f"{name}.cnn")
    student = tmp_path / f"{name}.py"
    student.write_text(generate(program), encoding="utf-8")
    net = cnnspec.resolve(program)
    grade = check_code(net, cnnspec.analyze(net), student, student_id=name, timeout=120)
    assert grade.gradable and grade.score == grade.max_score == len(cnnspec.analyze(net).layers) + 2


def test_torch_without_numpy_prints_nothing_to_the_instructor(tmp_path):
    """With no NumPy, torch warns when it is imported, in the grader and in each child; the instructor sees only
    the feedback (a NumPy that fails to import, first on the path, stands for one that is not installed)."""
    fake = tmp_path / "no_numpy" / "numpy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'numpy'\", name='numpy')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "cnnspec", "check-code", str(SPECS["lenet_like"]),
                           str(CODE / "lenet_like_sequential.py")], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Score: 12 / 12\n")
