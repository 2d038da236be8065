r"""Hostile LaTeX: the audit answers with a located error (exit 2) or a result, in bounded time.

Generated papers are built from the tokens that move the scanner's state (groups, math,
environments, tables, conditionals, verbatim, siunitx, inputs, definitions); every one must
either be read or be refused with `AuditInputError` carrying a file and a line, and the whole
audit (extraction, locating, context, sourcing) must run on what was read. The fixed cases are
the ones that used to fail: an ``\input`` chain hundreds deep (RecursionError), ``\frac{``
nested 100,000 deep (quadratic: 180 s for 1.1 MB), and inputs reaching outside the paper.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faspec.audit import AuditInputError, extract, extract_string
from faspec.audit.allow import Allowances
from faspec.audit.latex import MAX_INPUT_DEPTH
from faspec.audit.source import audit_extraction
from faspec.audit.values import ClaimValue
from faspec.cli import main
from faspec.spec.model import Reported

TOKENS = [
    "{", "}", "$", "$$", "\\(", "\\)", "\\[", "\\]", "&", "\\\\", "%", "\n", "\n\n", " ", "~",
    "0.5", "61.5\\%", "3", "-", "--", "1{,}000", "2e-3", "\\pm", "$\\pm$", "\\times 10^{", "^",
    "_", "#1", "\\frac{", "\\begin{tabular}{cc}", "\\end{tabular}", "\\begin{table}",
    "\\end{table}", "\\caption{", "\\label{tab:x}", "\\midrule", "\\multicolumn{2}{c}{",
    "\\section{", "\\begin{equation}", "\\end{equation}", "\\iffalse", "\\iftrue", "\\else",
    "\\fi", "\\verb|", "\\begin{verbatim}", "\\end{verbatim}", "\\num{", "\\SI{", "\\qty{",
    "\\numrange{", "\\newcommand{\\x}{", "\\def\\y#1{", "\\fsv{c}{m}{mean}", "\\input{",
    "\\input ", "missing}", "\\begin{tikzpicture}", "\\end{tikzpicture}", "\\end{document}",
    "\\begin{document}", "\\documentclass{article}", "accuracy", "cosine", "(%)", "seeds",
    "epochs", "d = ", "\\approx", "\\|h_L\\|", "\\text{", "\\cite{", "Table~", "\\endinput",
    "\\sisetup{", "\\ref{", "\u2212", "\\u", "\\", "x", "\\begin{", "\\end{",
    "% faspec-values: x\n", "\\faspecvalue{c}{m}{", "mean}{", "pm}{\\ensuremath{0.5 \\pm 0.1}}",
    "\\fsv{c}{m}{", "n}", "\\section{", "\\appendix", "\\begin{figure}", "\\end{figure}",
]  # fmt: skip


def _values() -> list[ClaimValue]:
    rep = Reported(mean=0.5, std=0.1, decimals=1, std_decimals=1)
    cv = ClaimValue("s", "c", "c", "m", "m", "test_acc", values=[0.5, 0.4, 0.6], reported=rep)
    cv2 = ClaimValue("s", "d", "d", "m.deep_cos", "m", "deep_cos", values=[0.03], reported=rep)
    return [cv, cv2]


def _audit_text(text: str, base) -> None:
    try:
        ex = extract_string(text, file="main.tex", base_dir=base)
    except AuditInputError as e:
        assert e.file and e.line >= 1 and e.col >= 1, str(e)
        return
    plan = SimpleNamespace(runs={"r": {"train": {"epochs": 3}, "model": {"d": 16}}})
    res = audit_extraction(ex, "main.tex", [], plan, _values(), Allowances())
    for f in res.findings:
        assert f.status in ("BACKED", "MISMATCH", "CONFIG", "ALLOWED", "UNSOURCED")
        assert f.line >= 1 and f.col >= 1


@settings(
    max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_generated_latex_is_read_or_refused_with_a_location(tmp_path, tokens):
    _audit_text("".join(tokens), tmp_path)


@settings(max_examples=100, deadline=5000)
@given(st.text(alphabet=st.sampled_from("{}$\\&%^_~ \n0123456789.,-+eEx()[]pmfrac"), max_size=200))
def test_generated_characters_are_read_or_refused(text):
    _audit_text(text, None)


def test_an_input_chain_hundreds_deep_is_a_located_error(tmp_path):
    n = 300
    for k in range(n):
        (tmp_path / f"f{k}.tex").write_text(f"level {k}\n\\input{{f{k + 1}}}\n")
    (tmp_path / f"f{n}.tex").write_text("0.5\n")
    with pytest.raises(AuditInputError) as e:
        extract(tmp_path / "f0.tex")
    deepest = f"f{MAX_INPUT_DEPTH - 1}.tex"
    assert (e.value.file.endswith(deepest), e.value.line, e.value.col) == (True, 2, 1)
    assert f"nested more than {MAX_INPUT_DEPTH} deep" in e.value.message

    res = CliRunner().invoke(main, ["audit", str(tmp_path / "f0.tex"), "--store", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert f"{deepest}:2:1:" in res.output and "nested more than" in res.output


@pytest.mark.parametrize("name", ["a" * 5000, "a\x00b", "loop"])
def test_input_names_the_os_refuses_are_located_not_found(tmp_path, name):
    """Found by fuzzing: a file name too long for the OS raised OSError from is_file()."""
    (tmp_path / "loop.tex").symlink_to(tmp_path / "loop.tex")
    with pytest.raises(AuditInputError) as e:
        extract_string(f"x\n  \\input{{{name}}}\n", file="main.tex", base_dir=tmp_path)
    assert (e.value.file, e.value.line, e.value.col) == ("main.tex", 2, 3)
    assert "file not found" in e.value.message


def test_a_chain_within_the_limit_is_read(tmp_path):
    n = MAX_INPUT_DEPTH - 1
    for k in range(n):
        (tmp_path / f"f{k}.tex").write_text(f"\\input{{f{k + 1}}}\n")
    (tmp_path / f"f{n}.tex").write_text("0.5\n")
    [hit] = extract(tmp_path / "f0.tex").numbers
    assert (hit.file.endswith(f"f{n}.tex"), hit.value) == (True, 0.5)


def test_frac_nested_deep_is_linear(tmp_path):
    """Was quadratic in depth (every number walked the whole frame stack): 10,000 deep took
    7 s, 100,000 deep (1.1 MB) 180 s. Now 100,000 deep takes about 5 s on one core."""
    times = {}
    for depth in (5_000, 20_000):
        text = "$" + "\\frac{1}{" * depth + "x" + "}" * depth + "$\n"
        t0 = time.perf_counter()
        ex = extract_string(text)
        times[depth] = time.perf_counter() - t0
        assert len(ex.numbers) == depth
    # 4x the depth: linear is ~4x, the old quadratic ~16x; leave room for a noisy machine
    assert times[20_000] < 9 * max(times[5_000], 0.05), times


def test_the_whole_audit_is_linear_on_unclosed_floats_titles_and_long_sentences():
    """Unclosed floats, captions and section titles once made every later one rescan the rest
    of the file, and every number walked all floats and sections: quadratic in the count."""
    pieces = (
        "\\section{Results 0.5\n\\begin{table}\\caption{Acc 0.5\n",
        "The test accuracy was 0.5 and ",
    )
    plan = SimpleNamespace(runs={})
    for piece in pieces:
        times = {}
        for k in (400, 1_600):
            t0 = time.perf_counter()
            ex = extract_string(piece * k + ".")
            audit_extraction(ex, "main.tex", [], plan, _values(), Allowances())
            times[k] = time.perf_counter() - t0
        assert times[1_600] < 9 * max(times[400], 0.05), (piece, times)


def test_inputs_outside_the_paper_folder_are_refused_unless_allowed(tmp_path):
    paper = tmp_path / "paper"
    paper.mkdir()
    (tmp_path / "secret.tex").write_text("0.123\n")
    (paper / "main.tex").write_text("intro\n  \\input{../secret}\n")
    with pytest.raises(AuditInputError) as e:
        extract(paper / "main.tex")
    assert (e.value.line, e.value.col) == (2, 3)
    assert "outside the paper's folder" in e.value.message
    assert "--allow-outside-inputs" in str(e.value)
    [hit] = extract(paper / "main.tex", allow_outside=True).numbers
    assert hit.value == 0.123

    # an absolute path is outside too
    (paper / "main.tex").write_text(f"\\input{{{tmp_path / 'secret.tex'}}}\n")
    with pytest.raises(AuditInputError, match="outside the paper's folder"):
        extract(paper / "main.tex")

    # a symlink inside the folder that points out of it is outside too
    (paper / "link.tex").symlink_to(tmp_path / "secret.tex")
    (paper / "main.tex").write_text("\\input{link}\n")
    with pytest.raises(AuditInputError, match="outside the paper's folder"):
        extract(paper / "main.tex")

    runner = CliRunner()
    args = ["audit", str(paper / "main.tex"), "--store", str(tmp_path / "none")]
    res = runner.invoke(main, args)
    assert res.exit_code == 2 and "main.tex:1:1:" in res.output, res.output
    res = runner.invoke(main, [*args, "--allow-outside-inputs", "--report-only"])
    assert res.exit_code == 0 and "0.123" in res.output, res.output
