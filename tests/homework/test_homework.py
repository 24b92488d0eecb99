"""The homework checker: worksheets and keys, variants, questions, and grading filled tables.

Expected numbers are the lecture notes' own (the case-study table of seed 000) or worked out by hand here;
scores and diagnoses of the made-up class are stated per submission, and the whole feedback of each is a
golden file (tests/golden/check/), reviewed by hand.
"""

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

import cnnspec
from cnnspec.homework import sheets
from cnnspec.homework.check import check, parse_weights, read_value
from cnnspec.cli import main
from cnnspec.homework.feedback import feedback_text, gradescope_results, prairielearn_results, roster_csv
from cnnspec.homework.grading import grade_class
from cnnspec.homework.tasks import TableTask
from cnnspec.homework.worksheet import build, exercise

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
HOMEWORK = ROOT / "tests" / "fixtures" / "homework"
TABLES = HOMEWORK / "tables"
GOLDEN = ROOT / "tests" / "golden"


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def worksheet(spec, columns=("output", "params", "products"), questions=(), variant=None, text=None):
    program = cnnspec.parse(text, "<spec>") if text else cnnspec.load(spec)
    ex = exercise(program, {}, variant)
    return build(ex, columns, questions), ex


# ------------------------------------------------------------------------------------ the key


def test_case_study_key_is_the_lecture_notes_table():
    """Seed 000's LeNet-like case study, row by row, and the issue's three worked forms."""
    ws, _ = worksheet(SPECS / "lenet_like.cnn")
    answers = [(r.cells[0].answer, r.cells[1].answer, r.cells[2].answer) for r in ws.rows]
    assert answers == [
        ((32, 24, 24), 832, 460800), ((32, 8, 8), 0, 0), ((32, 8, 8), 0, 0), ((64, 4, 4), 51264, 819200),
        ((64, 2, 2), 0, 0), ((64, 2, 2), 0, 0), ((256,), 0, 0), ((200,), 51400, 51200), ((200,), 0, 0),
        ((10,), 2010, 2000)]
    key = sheets.markdown(ws, key=True)
    for worked in ("32·(1·5²+1) = 832", "⌊(28 + 2·0 − 5)/1⌋ + 1 = 24", "64·32·4²·5² = 819200",
                   "64·(32·5²+1) = 51264", "200·(256+1) = 51400", "200·256 = 51200", "10·(200+1) = 2010"):
        assert worked in key


def _evaluate(formula: str) -> Fraction:
    """A working's arithmetic, evaluated independently of cnnspec: · × ² ³ ⌊⌋ ⌈⌉ − and /."""
    text = formula.replace("·", "*").replace("−", "-").replace("²", "**2").replace("³", "**3")
    text = re.sub(r"⌊([^⌋]*)⌋", r"floor(\1)", text)
    text = re.sub(r"⌈([^⌉]*)⌉", r"ceil(\1)", text)
    text = re.sub(r"(\d+)", r"F(\1)", text)
    return eval(text, {"F": Fraction, "floor": math.floor, "ceil": math.ceil})  # noqa: S307 (our own text)


def _check_working(working: str, answer) -> int:
    """Each `formula = value` step of a working evaluates to its value; the last value is the answer."""
    if working == "—":  # not asked: the receptive field of a network with no spatial axes
        assert answer == ()
        return 0
    checked = 0
    final = re.split(r"→", working)[-1].strip()
    for step in working.split("→")[0].split(";"):
        if "=" in step:
            *formulas, value = [part.strip() for part in step.split("=")]
            for formula in formulas:
                if formula.startswith("p "):
                    continue
                assert _evaluate(formula) == int(value), (working, formula)
                checked += 1
    shown = "×".join(map(str, answer)) if isinstance(answer, tuple) else str(answer)
    assert final.split(" = ")[-1] == shown, (working, answer)
    return checked


SPEC_FILES = sorted(p for p in SPECS.glob("*.cnn") if p.name != "resnet_blocks.cnn")


@pytest.mark.parametrize("path", SPEC_FILES + [HOMEWORK / "exercise.cnn"], ids=lambda p: p.stem)
def test_every_working_evaluates_to_the_analysis(path):
    """The key's arithmetic gives the analyzer's numbers (which the torch tests check) for every layer."""
    ws, ex = worksheet(path, ("output", "params", "products", "flops", "rf", "activations"))
    checked = 0
    for row in ws.rows:
        for cell in row.cells:
            checked += _check_working(cell.working, cell.answer)
    for cell in ws.totals:
        checked += _check_working(cell.working, cell.answer)
    assert checked > len(ws.rows)


@pytest.mark.parametrize("fmt", ["md", "csv", "yaml", "tex"])
@pytest.mark.parametrize("key", [False, True], ids=["blank", "key"])
def test_worksheet_golden(fmt, key, capsys):
    args = ["worksheet", SPECS / "lenet_like.cnn", "--format", fmt, "-q", "shape:4", "-q", "padding:1"]
    code, out, err = run(args + (["--key"] if key else []), capsys)
    assert (code, err) == (0, "")
    name = f"lenet_like{'_key' if key else ''}.{fmt}"
    assert out == (GOLDEN / "worksheet" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["md", "csv", "yaml", "tex"])
@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_key_read_back_scores_full_marks(path, fmt):
    ws, ex = worksheet(path, ("output", "params", "products", "rf"), (("shape", 1), ("params", 1)))
    answers = sheets.parse_answers(sheets.WRITERS[fmt](ws, key=True), fmt)
    grade = check(ws, ex, answers)
    asked = sum(1 for row in ws.rows for cell in row.cells if cell.working != "—")
    assert grade.score == grade.max_score == asked + 2 + 2


# ------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("text, values", [
    ("32x24x24", ((32, 24, 24),)), ("32 × 24 × 24", ((32, 24, 24),)), ("(32, 24, 24)", ((32, 24, 24),)),
    ("[-1, 32, 24, 24]", ((32, 24, 24),)), ("torch.Size([1, 32, 24, 24])", ((1, 32, 24, 24),)),
    ("32*24*24", ((32, 24, 24),)), ("256", ((256,),)), ("1,024", ((1024,), (1, 24))),
    ("⌊(28 + 2·0 − 5)/1⌋ + 1 = 24 → 32×24×24", ((32, 24, 24),)), ("N, 64, 4, 4", ((64, 4, 4),)),
])
def test_sizes_are_read_as_students_write_them(text, values):
    assert read_value(text, True).values == values


@pytest.mark.parametrize("text, value", [
    ("51264", 51264), ("51,264", 51264), ("51 264", 51264), ("1,024", 1024), ("32·(1·5²+1) = 832", 832),
    ("832 params", 832), ("460800.0", 460800), ("8.192e3", 8192), ("4.6e5", 460000), ("1_024", 1024),
])
def test_counts_are_read_as_students_write_them(text, value):
    assert read_value(text, False).values == (value,)


@pytest.mark.parametrize("text, problem", [
    ("1.6K", "`1.6K` is rounded: write the exact whole number"),
    ("2.5M", "`2.5M` is rounded: write the exact whole number"),
    ("about 800", "`about 800` is not a number"),
    ("4.6e-1", "`4.6e-1` is not a whole number"),
    ("12.5", "`12.5` is not a whole number: counts are exact"),
    ("= ", "`=` ends without a value"),
])
def test_unreadable_counts_say_why(text, problem):
    assert read_value(text, False).problem == problem


def test_unreadable_size_says_why():
    assert read_value("big", True).problem == "`big` is not a size (write it as C×H×W, e.g. 32×24×24)"
    assert read_value("", True).blank and read_value("—", False).blank


# ------------------------------------------------------------------------------------ the made-up class

# submission → (points, max points, the diagnosis it must name, or None)
CLASS = {
    "lenet_like/perfect.md": (32, 32, None),
    "lenet_like/bias_forgotten.csv": (31, 32, "Mistake: bias forgotten: each of the 64 filters also has a bias, +64"),
    "lenet_like/weights_only.md": (31, 32, "Mistake: weights only: 51200 is the number of weights, but each weight "
                                           "is used once per output position, so multiply by the 16 positions"),
    "lenet_like/in_channels_left_out.yaml": (31, 32, "Mistake: in-channels left out of the kernel: each filter "
                                                     "spans all 32 input channels, so it has 32·5² weights"),
    "lenet_like/no_weight_sharing.tex": (31, 32, "Mistake: output-size multiplication: the filters' weights are "
                                                 "shared by all 576 output positions, so the count does not grow "
                                                 "with the output size"),
    "lenet_like/pool_stride_1.md": (31, 32, "Mistake: pooling stride taken as 1: a pooling layer's stride is its "
                                            "kernel (3×3) unless given"),
    "lenet_like/bias_in_products.csv": (31, 32, "Mistake: bias counted in the products: adding the bias is an "
                                                "addition, not a product (200 too many)"),
    "lenet_like/macs_as_flops.md": (31, 32, "Mistake: those are FLOPs (2 per multiply–accumulate); a product is "
                                            "one multiply–accumulate: 460800"),
    "lenet_like/wrong_flatten.md": (31, 32, "Mistake: wrong flatten size: 1024 is layer 4's output (64×4×4) "
                                            "flattened; FLATTEN receives 64×2×2, so 64·2·2 = 256"),
    "lenet_like/unreadable.md": (29, 32, "# products: unreadable: `819.2K` is rounded: write the exact whole "
                                         "number. Expected 64·32·4²·5² = 819200"),
    "lenet_like/blank.csv": (0, 32, "output size: no answer. Expected ⌊(28 + 2·0 − 5)/1⌋ + 1 = 24 → 32×24×24"),
    "lenet_like/no_table.md": (0, 32, "the answers could not be read: no worksheet table found: the file should "
                                      "have the worksheet's table with its `#` column and headings such as "
                                      "`output size`"),
    "lenet_like/binary.csv": (0, 32, "the answers could not be read: this is a binary file, not a filled worksheet"),
    "exercise/ceil_instead_of_floor.md": (25, 26, "Mistake: ceil instead of floor: the size rounds down, "
                                                  "⌊(n + 2p − k)/s⌋ + 1, since a window that does not fit whole is "
                                                  "dropped"),
    "exercise/padding_per_side.csv": (25, 26, "Mistake: total padding taken as per-side: p pads each side, so the "
                                              "input grows by 2·p, not p"),
    "exercise/batchnorm_4c.yaml": (25, 26, "Mistake: BatchNorm counted as 4·C = 4·16: its running mean and "
                                           "variance are buffers, not parameters; only γ and β are learned, 2·16"),
    "lenet/perfect.tex": (38, 38, None),
    "lenet/padding_per_side.md": (37, 38, "Mistake: total padding taken as per-side: p pads each side, so the "
                                          "input grows by 2·p, not p"),
}
SPEC_OF = {"lenet_like": SPECS / "lenet_like.cnn", "exercise": HOMEWORK / "exercise.cnn", "lenet": SPECS / "lenet.cnn"}


def grade_of(name):
    spec = SPEC_OF[name.split("/")[0]]
    return TableTask(str(spec), columns=("output", "params", "products"))(TABLES / name)


@pytest.mark.parametrize("name", sorted(CLASS))
def test_made_up_class(name):
    points, max_points, diagnosis = CLASS[name]
    grade = grade_of(name)
    assert (grade.score, grade.max_score) == (points, max_points)
    text = feedback_text(grade)
    if diagnosis:
        assert diagnosis in text
    if points == max_points:
        assert "every answer is right." in text and "✗" not in text
    golden = GOLDEN / "check" / (name.replace("/", "__") + ".txt")
    assert text == golden.read_text(encoding="utf-8")


def test_each_diagnosis_is_the_only_mistake_named():
    """A submission that makes one slip is told of that slip once and of nothing else."""
    for name, (points, max_points, diagnosis) in CLASS.items():
        if diagnosis and diagnosis.startswith("Mistake"):
            text = feedback_text(grade_of(name))
            assert text.count("Mistake:") == 1, name


def test_an_early_slip_is_penalised_once():
    """pool_stride_1 takes MAXPOOL(3)'s stride as 1 and works on consistently from 32×22×22."""
    grade = grade_of("lenet_like/pool_stride_1.md")
    assert [c.name for c in grade.checks if not c.passed] == ["row 2: MAXPOOL(3)"]
    assert grade.notes == (
        "Credited as carried forward (right for your own earlier answer, though that one was wrong): row 3 output "
        "size, row 4 output size, row 4 # products, row 5 output size, row 6 output size, row 7 output size, row 8 "
        "# parameters, row 8 # products, total # parameters, total # products.",)
    row4 = next(c for c in grade.checks if c.name.startswith("row 4"))
    # 64·32·18²·5² from the student's own 32×22×22 input, by hand.
    assert f"# products: {64 * 32 * 18**2 * 5**2} follows from your own earlier answer" in row4.feedback


def test_a_count_that_agrees_with_the_rows_own_wrong_size_is_credited():
    """lenet/padding_per_side: 6×26×26 for CONV(6, k=5, p=2), then 6·1·26²·5² = 101400 products, which
    follows from that size; only the size is wrong."""
    grade = grade_of("lenet/padding_per_side.md")
    assert grade.checks[0].points == 2
    assert ("# products: 101400 follows from your own output size for this layer, 6×26×26 (the key has "
            "6·1·28²·5² = 117600); credited as carried forward") in grade.checks[0].feedback


def test_flops_given_as_macs_is_named():
    ws, ex = worksheet(SPECS / "lenet_like.cnn", ("flops",))
    grade = check(ws, ex, sheets.Answers({("1", "flops"): "460800"}, {}))
    assert grade.checks[0].feedback == ("# FLOPs: you wrote 460800; expected 2·32·1·24²·5² = 921600. Mistake: those "
                                        "are MACs (products); FLOPs count 2 per multiply–accumulate: 921600")


def test_a_slip_that_is_not_carried_is_wrong_each_time():
    """Without carrying forward, a wrong output that does not follow from the student's input is wrong."""
    ws, ex = worksheet(SPECS / "lenet_like.cnn", ("output",))
    answers = sheets.Answers({("1", "output"): "32x24x24", ("2", "output"): "32x9x9", ("3", "output"): "32x8x8"}, {})
    grade = check(ws, ex, answers)
    assert [c.points for c in grade.checks[:3]] == [1, 0, 1]
    assert "Mistake: ceil instead of floor" not in grade.checks[1].feedback


# ------------------------------------------------------------------------------------ questions


def test_padding_question_accepts_every_right_answer():
    """n = 7, k = 3, s = 3: ⌊(7 + 2p − 3)/3⌋ + 1 = 3 = ⌈7/3⌉ for p = 1 and p = 2, not for p = 0 or 3."""
    ws, ex = worksheet(None, ("output",), (("padding", 1),), text="INPUT(1, 7, 7) -> CONV(4, k=3, s=3)")
    question = ws.questions[0]
    assert question.answers == {1, 2}
    assert question.working == ("p = 1: ⌊(7 + 2·1 − 3)/3⌋ + 1 = 3; p = 2: ⌊(7 + 2·2 − 3)/3⌋ + 1 = 3; PyTorch "
                                "refuses padding='same' with stride 3, so p is written out → 1 or 2")
    for text, points in (("1", 1), ("p = 2", 1), ("p=1 or p=2", 1), ("0", 0), ("3", 0), ("none", 0), ("", 0)):
        grade = check(ws, ex, sheets.Answers({("1", "output"): "4x3x3"}, {"q1": text}))
        assert grade.checks[-1].points == points, text
    grade = check(ws, ex, sheets.Answers({}, {"q1": "3"}))
    assert grade.checks[-1].feedback == ("p = 3 does not keep the size; expected p = 1: ⌊(7 + 2·1 − 3)/3⌋ + 1 = 3; "
                                         "p = 2: ⌊(7 + 2·2 − 3)/3⌋ + 1 = 3; PyTorch refuses padding='same' with "
                                         "stride 3, so p is written out → 1 or 2")


@pytest.mark.parametrize("spec, answers", [
    # ⌊(8 + 2p − 4)/2⌋ + 1 = 3, 4, 5 for p = 0, 1, 2; ⌈8/2⌉ = 4.
    ("INPUT(1, 8, 8) -> CONV(4, k=4, s=2)", {1}),
    # ⌊(10 + 2p − 2)/2⌋ + 1 = 5 + p; ⌈10/2⌉ = 5.
    ("INPUT(1, 10, 10) -> CONV(4, k=2, s=2)", {0}),
    # dilation 2 spans 5: ⌊(3 + 2p − 5)/2⌋ + 1 = 0, 1, 2, 3 for p = 0..3; ⌈3/2⌉ = 2 (the layer's own p plays no part).
    ("INPUT(1, 3, 3) -> CONV(4, k=3, s=2, d=2, p=1)", {2}),
    # stride 1, kernel 5: 28 + 2p − 5 + 1 = 28 at p = 2.
    ("INPUT(1, 28, 28) -> CONV(6, k=5)", {2}),
    # stride 1, even kernel: 4 + 2p − 2 + 1 is odd, never 4.
    ("INPUT(1, 4, 4) -> CONV(4, k=2)", set()),
    # pooling, p ≤ k/2: ⌊(6 + 2p − 2)/2⌋ + 1 = 3, 4 for p = 0, 1; ⌈6/2⌉ = 3.
    ("INPUT(1, 6, 6) -> AVGPOOL(2)", {0}),
    # pooling at stride 1 with an even window: 4 + 2p − 2 + 1 = 3, 5 for p = 0, 1.
    ("INPUT(1, 4, 4) -> MAXPOOL(2, s=1)", set()),
    # ceil mode: ⌈(3 + 2p − 2)/2⌉ + 1 = 2 at p = 0; at p = 1 the last window would start in the padding: 2.
    ("INPUT(1, 3, 3) -> MAXPOOL(2, ceil=true)", {0, 1}),
])
def test_padding_question_answers(spec, answers):
    ws, _ = worksheet(None, ("output",), (("padding", 1),), text=spec)
    assert ws.questions[0].answers == answers


def test_padding_question_says_when_none_exists():
    ws, ex = worksheet(None, ("output",), (("padding", 1),), text="INPUT(1, 8, 8) -> CONV(4, k=4)")
    assert ws.questions[0].working == ("keeping 8 needs 3 padding in all, an odd number that cannot be split evenly; "
                                       "PyTorch's padding='same' pads 1 before and 2 after → none")
    assert check(ws, ex, sheets.Answers({}, {"q1": "none"})).checks[-1].points == 1
    assert check(ws, ex, sheets.Answers({}, {"q1": "1"})).checks[-1].points == 0


def test_padding_question_with_stride_names_pytorchs_same():
    """PyTorch refuses padding='same' with stride 2; the key says so and gives the p that works."""
    ws, ex = worksheet(None, ("output",), (("padding", 1),), text="INPUT(1, 8, 8) -> CONV(4, k=4, s=2)")
    assert ws.questions[0].working == ("p = 1: ⌊(8 + 2·1 − 4)/2⌋ + 1 = 4; PyTorch refuses padding='same' with "
                                       "stride 2, so p is written out → 1")
    assert check(ws, ex, sheets.Answers({}, {"q1": "p = 1"})).checks[-1].points == 1


def test_padding_question_of_non_square_input():
    ws, _ = worksheet(None, ("output",), (("padding", 1),), text="INPUT(1, 7, 9) -> CONV(4, k=3, s=3)")
    # height 7: p = 1, 2 give ⌈7/3⌉ = 3; width 9: ⌊(9 + 2p − 3)/3⌋ + 1 = 3, 3, 4 for p = 0, 1, 2.
    assert [(q.id, q.answers) for q in ws.questions] == [("q1a", {1, 2}), ("q1b", {0, 1})]
    assert "along its height (size 7)" in ws.questions[0].text


def test_shape_and_params_questions_name_the_mistake():
    ws, ex = worksheet(SPECS / "lenet_like.cnn", ("output",), (("shape", 4), ("params", 4)))
    assert [q.text for q in ws.questions] == [
        "What is the output shape of layer 4, CONV(64, k=5), whose input is 32×8×8?",
        "How many parameters does layer 4, CONV(64, k=5), whose input is 32×8×8 have?"]
    grade = check(ws, ex, sheets.Answers({}, {"q1": "64x4x4", "q2": "51200"}))
    assert [c.points for c in grade.checks[-2:]] == [1, 0]
    assert grade.checks[-1].feedback == ("you wrote 51200; expected 64·(32·5²+1) = 51264. Mistake: bias forgotten: "
                                         "each of the 64 filters also has a bias, +64")


# ------------------------------------------------------------------------------------ variants

VARIANT = HOMEWORK / "variant.cnn"


def test_same_id_same_worksheet_and_ids_differ():
    first = {sid: sheets.markdown(worksheet(VARIANT, variant=sid)[0], key=True) for sid in ("s01", "s02", "s03")}
    again = {sid: sheets.markdown(worksheet(VARIANT, variant=sid)[0], key=True) for sid in ("s01", "s02", "s03")}
    assert first == again
    layers = {tuple(r.layer for r in worksheet(VARIANT, variant=f"s{i:02}")[0].rows) for i in range(30)}
    assert len(layers) > 5  # 3·2·3 = 18 possible networks


def test_every_variant_is_a_valid_network_or_redrawn():
    """A kernel of 3 to 13 on 28×28 through two convolutions and pools: above 9 nothing is left
    (k = 9: 28 → 20 → 10 → 2 → 1; k = 10: 28 → 19 → 9 → 0), so such draws are drawn again."""
    text = ("let k = randint(3, 13)\nINPUT(1, 28, 28) -> CONV(8, k=k) -> MAXPOOL(2) -> CONV(8, k=k) -> MAXPOOL(2) "
            "-> FLATTEN -> FC(10)")
    program = cnnspec.parse(text)
    kernels, redrawn = set(), 0
    for i in range(40):
        ws, ex = worksheet(None, text=text, variant=f"student{i}")
        kernel = ex.net.draws[0]
        assert 3 <= kernel <= 9 and ws.rows[0].layer == f"CONV(8, k={kernel})"
        kernels.add(kernel)
        redrawn += cnnspec.resolve(program, variant=f"student{i}").draws[0] > 9
    assert len(kernels) >= 4 and redrawn >= 5  # 4 of the 11 values are too large: about 15 of 40 redrawn


def test_a_spec_with_no_valid_variant_is_refused(tmp_path, capsys):
    path = tmp_path / "never.cnn"
    path.write_text("let k = choice(40, 50)\nINPUT(1, 28, 28) -> CONV(8, k=k)\n", encoding="utf-8")
    code, out, err = run(["worksheet", path, "--variant", "s1"], capsys)
    assert (code, out) == (1, "")
    assert err == (f"{path}:2:21: error: no valid network for variant `s1` in 50 draws; the last one failed with: "
                   "CONV(8, k=k): input is 1×28×28, smaller than the 50×50 kernel\n"
                   "    INPUT(1, 28, 28) -> CONV(8, k=k)\n"
                   "                        ^~~~~~~~~~~~\n")


def test_instructor_copy_takes_the_first_values():
    ws, ex = worksheet(VARIANT)
    assert ws.rows[0].layer == "CONV(6, k=3)" and ws.variant is None


def test_check_uses_the_students_variant(tmp_path, capsys):
    """A student's key, graded with their ID, is perfect; graded with another ID it is not."""
    ws, _ = worksheet(VARIANT, variant="alice")
    answers = tmp_path / "alice.md"
    answers.write_text(sheets.markdown(ws, key=True), encoding="utf-8")
    code, out, _ = run(["check", VARIANT, answers, "--variant", "alice"], capsys)
    assert code == 0 and out.startswith("Score for alice: 26 / 26\n")
    other = next(sid for sid in (f"s{i}" for i in range(50))
                 if worksheet(VARIANT, variant=sid)[0].rows != ws.rows)
    code, out, _ = run(["check", VARIANT, answers, "--variant", other], capsys)
    assert code == 0 and not out.startswith(f"Score for {other}: 26 / 26")


# ------------------------------------------------------------------------------------ class scale


def test_class_directory_roster_and_feedback(tmp_path, capsys):
    out_dir = tmp_path / "grades"
    code, out, err = run(["check", SPECS / "lenet_like.cnn", TABLES / "lenet_like", "--out", out_dir], capsys)
    assert (code, err) == (0, "")
    names = sorted(n.split("/")[1].split(".")[0] for n in CLASS if n.startswith("lenet_like/"))
    total = sum(CLASS[n][0] for n in CLASS if n.startswith("lenet_like/"))
    assert out == (f"graded {len(names)} submissions: mean {total / len(names):.4g} of 32, 2 could not be graded; "
                   f"roster: {out_dir}/roster.csv, feedback: {out_dir}/feedback/\n")
    assert (out_dir / "roster.csv").read_text(encoding="utf-8") == (GOLDEN / "check" / "roster.csv").read_text(
        encoding="utf-8")
    assert sorted(p.stem for p in (out_dir / "feedback").iterdir()) == names
    for name in names:
        source = next(n for n in CLASS if n.startswith(f"lenet_like/{name}."))
        assert (out_dir / "feedback" / f"{name}.txt").read_text(encoding="utf-8") == (
            GOLDEN / "check" / (source.replace("/", "__") + ".txt")).read_text(encoding="utf-8")


def test_parallel_grading_equals_one_by_one():
    files = sorted((TABLES / "lenet_like").iterdir())
    task = TableTask(str(SPECS / "lenet_like.cnn"), columns=("output", "params", "products"))
    assert grade_class(files, task, jobs=2, processes=True) == [task(f) for f in files]


def test_roster_columns():
    grades = [grade_of("lenet_like/perfect.md"), grade_of("lenet_like/no_table.md")]
    lines = roster_csv(grades).splitlines()
    assert lines[0].startswith('student_id,score,max_score,"row 1: CONV(32, k=5)",row 2: MAXPOOL(3),')
    assert lines[0].endswith(",total,submission")
    assert lines[1] == "perfect,32,32,3,3,3,3,3,3,3,3,3,3,2,"
    assert lines[2] == "no_table,0,32,0,0,0,0,0,0,0,0,0,0,0,0"


# ------------------------------------------------------------------------------------ autograders

GRADESCOPE_TEST_KEYS = {"name": str, "score": (int, float), "max_score": (int, float), "output": str,
                        "visibility": str}
PRAIRIELEARN_TEST_KEYS = {"name": str, "points": (int, float), "max_points": (int, float), "message": str,
                          "output": str}


def _validate_gradescope(data):
    # Gradescope's documented results.json: score, max_score, output, tests[] (name, score, max_score,
    # output, visibility ∈ hidden, after_due_date, after_published, visible).
    assert set(data) == {"score", "max_score", "output", "tests"}
    assert isinstance(data["score"], (int, float)) and isinstance(data["output"], str)
    assert data["tests"] and data["score"] == sum(t["score"] for t in data["tests"])
    for test in data["tests"]:
        assert set(test) == set(GRADESCOPE_TEST_KEYS)
        assert all(isinstance(test[k], t) for k, t in GRADESCOPE_TEST_KEYS.items())
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert 0 <= test["score"] <= test["max_score"]


def _validate_prairielearn(data):
    # PrairieLearn's external grader results: gradable, score in [0, 1], message, output, tests[] (name,
    # points, max_points, message, output).
    assert set(data) == {"gradable", "score", "message", "output", "tests"}
    assert isinstance(data["gradable"], bool) and 0 <= data["score"] <= 1
    for test in data["tests"]:
        assert set(test) == set(PRAIRIELEARN_TEST_KEYS)
        assert all(isinstance(test[k], t) for k, t in PRAIRIELEARN_TEST_KEYS.items())
        assert 0 <= test["points"] <= test["max_points"]


@pytest.mark.parametrize("name", ["lenet_like/perfect.md", "lenet_like/pool_stride_1.md", "lenet_like/binary.csv"])
def test_autograder_results_files(name, tmp_path, capsys):
    gradescope, prairielearn = tmp_path / "gs.json", tmp_path / "pl.json"
    code, out, err = run(["check", SPECS / "lenet_like.cnn", TABLES / name, "--gradescope", gradescope,
                          "--prairielearn", prairielearn], capsys)
    assert (code, err) == (0, "")
    points, max_points, _ = CLASS[name]
    gs = json.loads(gradescope.read_text(encoding="utf-8"))
    pl = json.loads(prairielearn.read_text(encoding="utf-8"))
    _validate_gradescope(gs)
    _validate_prairielearn(pl)
    assert (gs["score"], gs["max_score"]) == (points, max_points)
    assert pl["score"] == round(points / max_points, 4)
    assert gs["output"] == out
    if name.endswith("binary.csv"):
        assert pl["gradable"] is False
        assert gs["tests"] == [{"name": "submission", "score": 0, "max_score": 32, "visibility": "visible",
                                "output": "the answers could not be read: this is a binary file, not a filled "
                                          "worksheet"}]


def test_fractional_weights_in_results():
    task = TableTask(str(SPECS / "lenet_like.cnn"), columns=("output", "params", "products"),
                     weights="output=0.5,total=2")
    grade = task(TABLES / "lenet_like" / "pool_stride_1.md")
    # 10 rows of 0.5 + 1 + 1 and a total row of 2 + 2: 29; one output size wrong: 28.5.
    assert (grade.score, grade.max_score) == (Fraction(57, 2), 29)
    assert gradescope_results(grade)["score"] == 28.5
    assert prairielearn_results(grade)["score"] == round(28.5 / 29, 4)


# ------------------------------------------------------------------------------------ errors

LENET_LIKE = SPECS / "lenet_like.cnn"


@pytest.mark.parametrize("args, message", [
    (["worksheet", LENET_LIKE, "--columns", "output,weights"],
     "--columns: error: unknown column `weights`; the columns are `output`, `params`, `products`, `flops`, `rf` "
     "and `activations`\n"),
    (["worksheet", LENET_LIKE, "--columns", ","],
     "--columns: error: --columns needs at least one column, from `output`, `params`, `products`, `flops`, `rf` "
     "and `activations`\n"),
    (["worksheet", LENET_LIKE, "-o", HOMEWORK / "no such directory" / "sheet.md"],
     f"{HOMEWORK / 'no such directory' / 'sheet.md'}: error: cannot write: No such file or directory\n"),
    (["worksheet", LENET_LIKE, "-q", "size:3"],
     "--question: error: --question expects KIND:LAYER, one of `shape:N`, `params:N` or `padding:N` (N: the "
     "layer's row), not 'size:3'\n"),
    (["worksheet", LENET_LIKE, "-q", "shape:11"],
     "--question: error: --question shape:11: the network has layers 1 to 10\n"),
    (["worksheet", LENET_LIKE, "-q", "padding:3"],
     "--question: error: --question padding:3: layer 3 is RELU; the padding question is about a convolution or "
     "a pooling layer\n"),
    (["check", LENET_LIKE, TABLES / "lenet_like" / "perfect.md", "--weights", "output=two"],
     "--weights: error: --weights: `output=two` needs a number after `=`\n"),
    (["check", LENET_LIKE, TABLES / "lenet_like" / "perfect.md", "--weights", "bias=1"],
     "--weights: error: --weights: unknown column `bias`; the weighted ones are output, params, products, "
     "questions, total\n"),
    (["check", LENET_LIKE, TABLES / "missing.md"], f"{TABLES / 'missing.md'}: error: no such file or directory\n"),
    (["check", LENET_LIKE, HOMEWORK], f"{HOMEWORK}: error: no submissions here: the directory has no .md or "
                                      ".markdown or .csv or .yaml or .yml or .tex files\n"),
    (["check", LENET_LIKE, TABLES / "lenet_like", "--gradescope", "x.json"],
     f"{TABLES / 'lenet_like'}: error: --gradescope is for one submission (as an autograder runs it); a "
     "directory is graded into --out\n"),
    (["check", LENET_LIKE, TABLES / "lenet_like", "--variant", "s1"],
     f"{TABLES / 'lenet_like'}: error: --variant is for one submission; in a directory each student's variant "
     "is their ID, the file's name\n"),
])
def test_errors(args, message, capsys):
    code, out, err = run(args, capsys)
    assert (code, out, err) == (1, "", message)


def test_answers_of_unknown_format(tmp_path, capsys):
    path = tmp_path / "answers.txt"
    path.write_text("32x24x24", encoding="utf-8")
    code, out, err = run(["check", LENET_LIKE, path], capsys)
    assert code == 0
    assert out.startswith("Score: 0 / 32\n\nthe answers could not be read: cannot tell this file's format from its "
                          "name: answers are read from .md, .csv, .yaml (.yml) or .tex files\n")


def test_formats_agree():
    assert tuple(sheets.WRITERS) == tuple(sheets.SUFFIXES) == cnnspec.homework.columns.FORMATS


def test_weights_parse():
    weights = parse_weights("output=2, questions=0.5", ("output", "params"))
    assert weights == {"output": 2, "params": 1, "questions": Fraction(1, 2), "total": 1}


def test_a_failed_grading_still_writes_results_files(tmp_path, capsys):
    """A spec that does not analyze is the instructor's error, but the autograder still gets valid files."""
    spec = tmp_path / "broken.cnn"
    spec.write_text("INPUT(1, 4, 4) -> CONV(8, k=5)\n", encoding="utf-8")
    answers = tmp_path / "a.md"
    answers.write_text("| # | output size |\n|--|--|\n| 1 | 8x1x1 |\n", encoding="utf-8")
    gradescope, prairielearn = tmp_path / "gs.json", tmp_path / "pl.json"
    code, out, err = run(["check", spec, answers, "--gradescope", gradescope, "--prairielearn", prairielearn],
                         capsys)
    assert (code, out) == (1, "")
    assert err.startswith(f"{spec}:1:19: error: CONV(8, k=5): input is 1×4×4, smaller than the 5×5 kernel\n")
    gs = json.loads(gradescope.read_text(encoding="utf-8"))
    pl = json.loads(prairielearn.read_text(encoding="utf-8"))
    _validate_gradescope(gs)
    _validate_prairielearn(pl)
    assert gs["tests"][0]["output"] == ("grading failed: CONV(8, k=5): input is 1×4×4, smaller than the 5×5 "
                                        "kernel")
    assert pl["gradable"] is False


# ------------------------------------------------------------------------------------ never a crash

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from profiles import examples  # noqa: E402

_LENET_LIKE_SHEET = worksheet(SPECS / "lenet_like.cnn", ("output", "params", "products", "rf"),
                              (("shape", 4), ("padding", 1)))
_CELL_TEXT = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[\[\(]?-?\d{1,6}([x×*, ]{1,3}\d{1,6}){0,4}[\]\)]?", fullmatch=True),
    st.from_regex(r"\d{1,4}(\.\d{1,3})?\s?[kKmM]?|\d+e-?\d{1,3}|[=→]\s?\d*", fullmatch=True),
)


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.dictionaries(st.tuples(st.sampled_from([str(i) for i in range(1, 12)] + ["total", "x"]),
                                       st.sampled_from(["output", "params", "products", "rf"])), _CELL_TEXT),
       questions=st.dictionaries(st.sampled_from(["q1", "q2", "q3"]), _CELL_TEXT))
def test_any_cell_text_is_graded_never_raises(cells, questions):
    ws, ex = _LENET_LIKE_SHEET
    grade = check(ws, ex, sheets.Answers(cells, questions))
    assert 0 <= grade.score <= grade.max_score == 4 * 10 + 2 + 2
    assert len(grade.checks) == 10 + 1 + 2


# Branches: a student's wrong size in one branch is carried into the join (or cannot be, and is not).
_BRANCHY_SHEET = worksheet(None, ("output", "params", "products", "activations"), (("padding", 1), ("shape", 9)),
                           text="INPUT(3, 16, 16) -> CONV(8, k=3, p=1) -> ADD { CONV(8, k=3, p=1) -> RELU | "
                                "IDENTITY } -> CONCAT { MAXPOOL(2) | AVGPOOL(2) } -> MUL { IDENTITY | GAP -> "
                                "CONV(16, k=1) -> SIGMOID } -> FLATTEN -> FC(4)")
_SHAPES = st.builds(lambda dims: "x".join(map(str, dims)), st.lists(st.integers(0, 40), min_size=1, max_size=4))


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.dictionaries(st.tuples(st.sampled_from([str(i) for i in range(1, 15)] + ["total"]),
                                       st.sampled_from(["output", "params", "products", "activations"])),
                             st.one_of(_SHAPES, _CELL_TEXT)))
def test_any_answers_to_a_network_with_branches_are_graded(cells):
    ws, ex = _BRANCHY_SHEET
    grade = check(ws, ex, sheets.Answers(cells, {}))
    assert 0 <= grade.score <= grade.max_score


@settings(max_examples=examples(100))
@given(text=st.one_of(st.text(max_size=300),
                      st.lists(st.lists(_CELL_TEXT, max_size=6).map(lambda r: "| " + " | ".join(r) + " |"),
                               max_size=8).map(lambda rows: "| # | output size |\n" + "\n".join(rows))),
       fmt=st.sampled_from(["md", "csv", "yaml", "tex"]))
def test_any_file_text_is_read_or_refused_cleanly(text, fmt):
    try:
        answers = sheets.parse_answers(text, fmt)
    except cnnspec.CnnspecError:
        return
    ws, ex = _LENET_LIKE_SHEET
    check(ws, ex, answers)


def test_analyze_verify_and_lower_take_a_variant(capsys):
    """An instructor looks at one student's network with the commands they know."""
    ws, _ = worksheet(VARIANT, variant="alice")
    code, out, _ = run(["analyze", VARIANT, "--variant", "alice", "--format", "json"], capsys)
    layers = json.loads(out)["layers"]
    assert code == 0 and [layer["resolved"] for layer in layers] == [row.layer for row in ws.rows]
    assert [layer["params"] for layer in layers] == [row.cells[1].answer for row in ws.rows]
    code, out, _ = run(["verify", VARIANT, "--variant", "alice"], capsys)
    assert code == 0 and out.endswith(f"{len(ws.rows)} of {len(ws.rows)} layers agree\n")
    code, out, _ = run(["lower", VARIANT, "--variant", "alice"], capsys)
    first = ws.rows[0].layer  # CONV(c, k=k) drawn for alice
    channels, kernel = re.fullmatch(r"CONV\((\d+), k=(\d+)\)", first).groups()
    assert code == 0 and f"nn.Conv2d(1, {channels}, kernel_size={kernel})" in out


def test_apply_refuses_a_shape_no_input_could_have():
    """The rule of a layer is run on a student's shape only when it is one: C and 0 to 3 sizes, each ≥ 1."""
    from cnnspec.analysis.analyze import apply

    net = cnnspec.resolve(cnnspec.parse("INPUT(1, 8, 8) -> MAXPOOL(2)"))
    pool = net.body[0]
    assert apply(pool, (4, 6, 6))[1].shape == (4, 3, 3)
    for shape in [(0, 3, 3, 3, 10), (4, 0, 6), ()]:
        with pytest.raises(cnnspec.CnnspecError) as error:
            apply(pool, shape)
        assert error.value.message == (f"MAXPOOL(2) cannot take an input of {'×'.join(map(str, shape))}: a shape "
                                       "is C and 0 to 3 spatial sizes, each from 1 to 100,000,000")
