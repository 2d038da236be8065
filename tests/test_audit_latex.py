r"""The LaTeX number extractor: every printed number, exactly where it is, and nothing else.

Each test writes a small LaTeX fixture to tmp_path and asserts the exact list of
(line, col, value[, std]) found, so that a number reported twice, at the wrong column, or
one that should not be a number at all, fails the test.
"""

from __future__ import annotations

import pytest

from faspec.audit import AuditInputError, extract, extract_numbers, read_tex
from faspec.audit.latex import NumberHit


def write(tmp_path, tex: str, name: str = "main.tex"):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(tex, encoding="utf-8")
    return p


def found(tmp_path, tex: str) -> list[NumberHit]:
    return extract_numbers(write(tmp_path, tex))


def lcv(hits: list[NumberHit]) -> list[tuple]:
    return [(h.line, h.col, h.value) for h in hits]


def lcvs(hits: list[NumberHit]) -> list[tuple]:
    return [(h.line, h.col, h.value, h.std) for h in hits]


# ---------------------------------------------------------------------------------------------
# Notations


def test_plus_minus_in_every_spelling(tmp_path):
    tex = (
        "A 0.401\\pm0.009 B\n"
        "$0.401 \\pm 0.009$\n"
        "0.401 $\\pm$ 0.009\n"
        "0.401 ± 0.009\n"
        "FA & \\textbf{0.401}{\\scriptsize$\\pm$0.009} \\\\\n"
        "0.306 \\tiny{$\\pm$ 0.008} and 0.5 +- 0.1\n"
    )
    hits = found(tmp_path, tex)
    assert lcvs(hits) == [
        (1, 3, 0.401, 0.009),
        (2, 2, 0.401, 0.009),
        (3, 1, 0.401, 0.009),
        (4, 1, 0.401, 0.009),
        (5, 14, 0.401, 0.009),
        (6, 1, 0.306, 0.008),
        (6, 30, 0.5, 0.1),
    ]
    assert {h.kind for h in hits} == {"pm"}
    assert [h.text for h in hits[:4]] == [
        "0.401\\pm0.009",
        "0.401 \\pm 0.009",
        "0.401 $\\pm$ 0.009",
        "0.401 ± 0.009",
    ]
    assert (hits[0].decimals, hits[0].std_decimals) == (3, 3)


def test_scientific_notation_and_its_exponent_is_not_a_number(tmp_path):
    tex = (
        "g = 1.21\\times 10^7 and 1.21{\\times}10^{7}.\n"
        "Below $6.7\\times10^{-8}$ with lr 5e-4, eps 1E+3.\n"
        "Norm $10^{-7}$ alone, $\\sim 2\\times10^{2}$, $1.2 \\cdot 10^{-3}$.\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [
        (1, 5, 1.21e7),
        (1, 25, 1.21e7),
        (2, 8, 6.7e-8),
        (2, 34, 5e-4),
        (2, 44, 1e3),
        (3, 7, 1e-7),
        (3, 29, 200.0),
        (3, 46, 1.2e-3),
    ]
    assert {h.kind for h in hits} == {"sci"}
    h = hits[0]
    assert (h.mantissa, h.exponent, h.decimals, h.sig_digits) == (1.21, 7, 2, 3)
    assert h.text == "1.21\\times 10^7"
    assert hits[1].text == "1.21{\\times}10^{7}"
    assert (hits[5].mantissa, hits[5].exponent, hits[5].decimals) == (1.0, -7, 0)
    assert hits[6].relation == "~"


def test_percent_and_percentage_points(tmp_path):
    tex = (
        "acc 61.5\\% then +5.2 pp, 5.2~pp, 5.2\\,pp and 4 percentage points.\n"
        "$61.5\\%$, \\textbf{61.5}\\%, 61.5\\,\\% and 3.1\\,\\text{pp}.\n"
        "A raw 50% is a comment start 70\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.unit, h.kind) for h in hits] == [
        (1, 5, 61.5, "%", "percent"),
        (1, 17, 5.2, "pp", "pp"),
        (1, 26, 5.2, "pp", "pp"),
        (1, 34, 5.2, "pp", "pp"),
        (1, 46, 4.0, "pp", "pp"),
        (2, 2, 61.5, "%", "percent"),
        (2, 19, 61.5, "%", "percent"),
        (2, 28, 61.5, "%", "percent"),
        (2, 41, 3.1, "pp", "pp"),
        (3, 7, 50.0, None, "plain"),
    ]
    assert hits[1].sign == "+" and hits[1].text == "+5.2 pp"


def test_factors_and_sizes(tmp_path):
    tex = "25\\times faster, 25$\\times$ and 2.5x; a 3x3 grid; $3\\times3$ kernels, 256×256.\n"
    hits = found(tmp_path, tex)
    assert [(h.col, h.value, h.kind) for h in hits] == [
        (1, 25.0, "times"),
        (18, 25.0, "times"),
        (33, 2.5, "multiplier"),
        (41, 3.0, "plain"),
        (43, 3.0, "plain"),
        (52, 3.0, "plain"),
        (59, 3.0, "plain"),
        (71, 256.0, "plain"),
        (75, 256.0, "plain"),
    ]
    assert hits[1].text == "25$\\times$"


def test_ranges(tmp_path):
    tex = (
        "depth 2--3 and 0.29--0.32, $2$--$3$, 2–3 and 2-3 seeds;\n"
        "gains of 10--20\\% or 2\\%--3\\%, speedups 2--3$\\times$.\n"
        "Years 2019--2021 are not a range of results.\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.upper) for h in hits] == [
        (1, 7, 2.0, 3.0),
        (1, 16, 0.29, 0.32),
        (1, 29, 2.0, 3.0),
        (1, 38, 2.0, 3.0),
        (1, 46, 2.0, 3.0),
        (2, 10, 10.0, 20.0),
        (2, 22, 2.0, 3.0),
        (2, 41, 2.0, 3.0),
    ]
    assert {h.kind for h in hits} == {"range"}
    assert [h.unit for h in hits[5:]] == ["%", "%", "×"]
    assert hits[1].upper_decimals == 2


def test_signed_values(tmp_path):
    tex = (
        "gap $-0.008$ and $+0.33$, text −0.008, (-0.3), \\textbf{+0.5}\n"
        "$\\Delta = - 0.2$, $\\approx -1.5$, $a - 4$, & -7 \\\\\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.sign) for h in hits] == [
        (1, 6, -0.008, "-"),
        (1, 19, 0.33, "+"),
        (1, 32, -0.008, "-"),
        (1, 41, -0.3, "-"),
        (1, 56, 0.5, "+"),
        (2, 11, -0.2, "-"),
        (2, 28, -1.5, "-"),
        (2, 40, 4.0, ""),
        (2, 46, -7.0, "-"),
    ]


def test_thousands_separators_need_groups_of_three(tmp_path):
    tex = "n = 14{,}510 or 14,510 or 1,234,567; not 1,2,3 nor 12,34; $1,234$ is two; 10\\,000\n"
    hits = found(tmp_path, tex)
    assert lcv(hits) == [
        (1, 5, 14510.0),
        (1, 17, 14510.0),
        (1, 27, 1234567.0),
        (1, 42, 1.0),
        (1, 44, 2.0),
        (1, 46, 3.0),
        (1, 52, 12.0),
        (1, 55, 34.0),
        (1, 60, 1.0),
        (1, 62, 234.0),
        (1, 75, 10000.0),
    ]
    assert hits[0].text == "14{,}510" and hits[0].decimals == 0


def test_table_cells(tmp_path):
    tex = (
        "\\begin{table}[t]\n"
        "\\begin{tabular}{lcc}\n"
        "\\toprule\n"
        "Method & Acc & $\\Delta$ \\\\\n"
        "\\midrule\n"
        "FA & 0.401 & $+0.01$ \\\\\n"
        "DFA&0.306&--\\\\\n"
        "\\multicolumn{2}{l}{all} & 12 \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n"
        "\\end{table}\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.cell) for h in hits] == [
        (6, 6, 0.401, (1, 1)),
        (6, 15, 0.01, (1, 2)),
        (7, 5, 0.306, (2, 1)),
        (8, 27, 12.0, (3, 2)),
    ]
    assert hits[0].envs == ("table", "tabular")


def test_bold_math_and_relations(tmp_path):
    tex = (
        "$\\mathbf{0.615}$ and \\textbf{0.615} and \\underline{0.6}.\n"
        "\\approx 0.3, $< 10^{-7}$, $\\le 2$, $x = 5$, $p<0.05$\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.relation, h.math) for h in hits] == [
        (1, 10, 0.615, None, True),
        (1, 30, 0.615, None, False),
        (1, 52, 0.6, None, False),
        (2, 9, 0.3, "≈", False),
        (2, 17, 1e-7, "<", True),
        (2, 32, 2.0, "≤", True),
        (2, 41, 5.0, "=", True),
        (2, 48, 0.05, "<", True),
    ]


def test_siunitx_numbers(tmp_path):
    tex = (
        "\\SI{3}{\\percent}, \\num{1.2e-3}, \\num{14510}, \\num{0.401 +- 0.009},\n"
        "\\num{0.401(9)}, \\qty{1.5}{\\milli\\second}, \\numrange{2}{3}, \\num[round-mode=places]{7}\n"
        "\\numlist{1;2;3}\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.std, h.kind) for h in hits] == [
        (1, 1, 3.0, None, "percent"),
        (1, 19, 1.2e-3, None, "sci"),
        (1, 33, 14510.0, None, "plain"),
        (1, 46, 0.401, 0.009, "pm"),
        (2, 1, 0.401, 0.009, "pm"),
        (2, 17, 1.5, None, "plain"),
        (2, 43, 2.0, None, "range"),
        (2, 60, 7.0, None, "plain"),
        (3, 10, 1.0, None, "plain"),
        (3, 12, 2.0, None, "plain"),
        (3, 14, 3.0, None, "plain"),
    ]
    assert hits[0].text == "\\SI{3}{\\percent}"
    assert hits[5].unit == "\\milli\\second"
    assert hits[6].upper == 3.0


def test_magnitudes_units_and_powers(tmp_path):
    tex = "50k steps, a 7B model, 100ms, 2.5h, $2^{10}$, $1.5^2$, $x^2$, $10^78$\n"
    hits = found(tmp_path, tex)
    assert [(h.col, h.value, h.unit) for h in hits] == [
        (1, 50000.0, "k"),
        (14, 7e9, "B"),
        (24, 100.0, "ms"),
        (31, 2.5, "h"),
        (38, 1024.0, None),
        (48, 2.25, None),
        (64, 1e7, None),  # TeX reads 10^78 as 10^7 followed by 8; the 8 is not reported
    ]
    assert (hits[0].exponent, hits[0].resolution) == (3, 1000.0)


def test_custom_pm_macro_is_recognised_from_its_definition(tmp_path):
    tex = (
        "\\newcommand{\\std}[1]{{\\scriptsize$\\pm$#1}}\n"
        "FA 0.401\\std{0.009} and DFA 0.306 \\std{0.008}\n"
    )
    hits = found(tmp_path, tex)
    assert lcvs(hits) == [(2, 4, 0.401, 0.009), (2, 29, 0.306, 0.008)]
    assert hits[0].text == "0.401\\std{0.009}"


def test_parenthesised_mean_and_std_share_a_suffix(tmp_path):
    tex = "(61.5 \\pm 0.3)\\% and $(1.2 \\pm 0.3)\\times 10^{-3}$ and (0.4 \\pm 0.1) alone\n"
    hits = found(tmp_path, tex)
    assert [(h.col, h.value, h.std, h.unit) for h in hits] == [
        (1, 61.5, 0.3, "%"),
        (23, 1.2e-3, pytest.approx(3e-4), None),
        (57, 0.4, 0.1, None),
    ]
    assert hits[0].text == "(61.5 \\pm 0.3)\\%"
    assert hits[2].text == "0.4 \\pm 0.1"


# ---------------------------------------------------------------------------------------------
# What is not a number


def test_references_citations_urls_and_graphics_are_not_numbers(tmp_path):
    tex = (
        "See \\ref{fig:3}, \\eqref{eq:2}, \\cref{sec:4}, \\Cref{tab:5}, \\autoref{x1}.\n"
        "\\label{eq:7}\\cite{smith2020} \\citep[p.~3]{a1} \\citet{b2} \\citep*{c3}\n"
        "\\url{http://x.org/1/2} \\href{http://a.b/3}{see 4 runs}\n"
        "\\includegraphics[width=0.82\\linewidth,trim=1 2 3 4]{figs/plot3.pdf}\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(3, 48, 4.0)]  # the visible text of \href is read


def test_preamble_lengths_and_column_specs_are_not_numbers(tmp_path):
    tex = (
        "\\documentclass[11pt,a4paper]{article}\n"
        "\\usepackage[margin=1in]{geometry}\n"
        "\\usepackage{amsmath}\n"
        "\\setlength{\\tabcolsep}{3pt}\n"
        "\\renewcommand{\\arraystretch}{1.2}\n"
        "\\definecolor{myblue}{RGB}{0,114,178}\n"
        "\\begin{document}\n"
        "\\setlength{\\parskip}{2pt}\\vspace{1.5em}\\hspace*{2cm}\\vspace{-3mm}\n"
        "width 0.5\\textwidth, 3pt, 1.5 em, 2cm, 0.82\\linewidth \\vskip 4pt \\penalty10000\n"
        "\\begin{tabular}{p{3cm}*{2}{c}@{\\hspace{4pt}}r} a \\\\ \\end{tabular}\n"
        "\\begin{minipage}[t]{0.48\\textwidth} \\end{minipage}\n"
        "\\begin{tabularx}{\\linewidth}{lX} \\end{tabularx}\n"
        "\\rowcolor{gray!20}\\cellcolor{blue!10}\\textcolor{red!50}{ok}\n"
        "\\resizebox{0.9\\linewidth}{!}{x}\\scalebox{0.8}{y}\\cmidrule(lr){2-4}\\cline{2-3}\n"
        "\\\\[2pt] \\rule{0pt}{3ex} \\fontsize{10}{12}\\selectfont\n"
        "\\end{document}\n"
    )
    assert found(tmp_path, tex) == []


def test_dates_and_years_are_not_numbers(tmp_path):
    tex = (
        "In 2020 (Lillicrap et al., 2016) and the 1990s; on March 3, 2021,\n"
        "3 March 2021, Jan.~5, 2021-03-04; \\today; \\date{1 May 2020}\n"
        "but 2048 units, $2020$ in math, 2{,}000 steps and 1899 are numbers\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(3, 5, 2048.0), (3, 18, 2020.0), (3, 33, 2000.0), (3, 51, 1899.0)]


def test_hand_written_cross_references_are_not_numbers(tmp_path):
    tex = (
        "Table 2, Fig.~3, Figure 4, Eq.~(5), Section 6.2, Sec.~7, \\S 8, §9, Appendix~B.2,\n"
        "Theorem 1, Lemma~2, Alg. 3, Tables 2--3, p.~7, pp.~12--15 but 4 seeds.\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(2, 63, 4.0)]


def test_section_title_hand_numbering(tmp_path):
    tex = (
        "\\section{3 Results}\n"
        "\\subsection{3.2 Depth sweep with 4 blocks}\n"
        "\\section{0.3 is enough}\n"
        "\\section*{A.1 Proofs}\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(2, 34, 4.0), (3, 10, 0.3)]


def test_names_ordinals_and_versions_are_not_numbers(tmp_path):
    tex = (
        "CIFAR-10, CIFAR-100, fp32, ResNet-18, ViT-B/16, A100-80GB, GPT-2, top-1, L2,\n"
        "3D, 2nd, 3rd, Fig.3a, v1.2, PyTorch 2.3.1, run\\_3, $W_1$, $x^2$, $h_{l+1}$,\n"
        "$\\mathbb{R}^{256}$, \\#1 but a 3-layer net.\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(3, 31, 3.0)]


def test_comments_verbatim_and_dead_code_are_skipped(tmp_path):
    tex = (
        "% 0.5 in a comment\n"
        "x \\% 1 \\verb|0.7| \\lstinline{0.8}\n"
        "\\begin{verbatim}\n0.9 \\end{tabular}\n\\end{verbatim}\n"
        "\\begin{comment} 0.1 \\end{comment}\n"
        "\\iffalse 0.2 \\else 0.25 \\fi \\iftrue 0.26 \\else 0.27 \\fi\n"
        "\\begin{tikzpicture}\\draw (0,0) -- (1.5,2); \\end{tikzpicture}\n"
        "\\begin{thebibliography}{99}\\bibitem{a} A. B., 2019, pp. 1--9.\\end{thebibliography}\n"
        "61.5% trailing comment 3\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(2, 6, 1.0), (7, 20, 0.25), (7, 37, 0.26), (10, 1, 61.5)]


def test_preamble_reports_only_macro_bodies_at_their_use_sites(tmp_path):
    tex = (
        "\\documentclass{article}\n"
        "\\newcommand{\\faacc}{0.401}\n"
        "\\def\\dfaacc{0.306}\n"
        "\\title{Depth 12}\n"
        "\\begin{document}\n"
        "FA \\faacc{} vs 3\n"
        "\\end{document}\n"
        "99 after the end\n"
    )
    hits = found(tmp_path, tex)
    # a macro body is reported where it is used (with that site's context); \dfaacc is unused
    assert lcv(hits) == [(6, 4, 0.401), (6, 16, 3.0)]
    assert hits[0].text == "0.401" and hits[0].context.startswith("FA \\faacc")


def test_footnotes_captions_and_floats_are_read(tmp_path):
    tex = (
        "Text\\footnote{Over 12 runs.} more.\n"
        "\\begin{figure}[t]\\centering\n"
        "\\caption[short 9]{Cosine over 3 seeds ($L=2,4$).}\\label{fig:1}\n"
        "\\end{figure}\n"
    )
    hits = found(tmp_path, tex)
    assert lcv(hits) == [(1, 20, 12.0), (3, 31, 3.0), (3, 43, 2.0), (3, 45, 4.0)]
    assert hits[1].envs == ("figure",)


# ---------------------------------------------------------------------------------------------
# Macros


def test_results_macro_uses_are_returned_separately(tmp_path):
    tex = (
        "FA reaches \\fsv{fa-beats-dfa}{fa}{mean} over 3 seeds,\n"
        "and \\fsv[pm]{fa-beats-dfa}{dfa}{mean}{x}.\n"
    )
    ex = extract(write(tmp_path, tex))
    assert lcv(ex.numbers) == [(1, 46, 3.0)]
    assert [(m.line, m.col, m.name, m.args, m.options) for m in ex.macros] == [
        (1, 12, "fsv", ("fa-beats-dfa", "fa", "mean"), None),
        (2, 5, "fsv", ("fa-beats-dfa", "dfa", "mean", "x"), "pm"),
    ]


def test_results_macro_arity_comes_from_its_definition(tmp_path):
    tex = "\\newcommand{\\fsv}[3]{\\csname fsv@#1@#2@#3\\endcsname}\n\\fsv {a} {b1}\n{c} {7}\n"
    ex = extract(write(tmp_path, tex), macros=["fsv", "result"])
    assert [(m.line, m.col, m.args) for m in ex.macros] == [(2, 1, ("a", "b1", "c"))]
    assert lcv(ex.numbers) == [(3, 6, 7.0)]


# ---------------------------------------------------------------------------------------------
# Files


def test_input_and_include_attribute_numbers_to_their_file(tmp_path):
    write(
        tmp_path,
        "\\documentclass{article}\n\\begin{document}\nMain 0.5.\n"
        "\\input{sections/a}\n\\include{sections/b}\n% \\input{missing}\n"
        "\\input sections/c.tex\nAfter 0.7\n\\input{sections/a}\n\\end{document}\n",
        "paper/main.tex",
    )
    write(tmp_path, "A has 0.61\n\\input{sections/d.tex}\n", "paper/sections/a.tex")
    write(tmp_path, "B has 0.62\n", "paper/sections/b.tex")
    write(tmp_path, "C has 0.63\n", "paper/sections/c.tex")
    write(tmp_path, "  D 0.64\n", "paper/sections/d.tex")
    main = tmp_path / "paper" / "main.tex"
    hits = extract_numbers(main)
    rel = [(h.file.removeprefix(str(tmp_path) + "/"), h.line, h.col, h.value) for h in hits]
    assert rel == [
        ("paper/main.tex", 3, 6, 0.5),
        ("paper/sections/a.tex", 1, 7, 0.61),
        ("paper/sections/d.tex", 1, 5, 0.64),
        ("paper/sections/b.tex", 1, 7, 0.62),
        ("paper/sections/c.tex", 1, 7, 0.63),
        ("paper/main.tex", 8, 7, 0.7),
    ]
    sources = read_tex(main)
    assert [s.file.removeprefix(str(tmp_path) + "/") for s in sources] == [
        "paper/main.tex",
        "paper/sections/a.tex",
        "paper/sections/d.tex",
        "paper/sections/b.tex",
        "paper/sections/c.tex",
    ]
    assert sources[1].included_from == (str(main), 4, 1)


def test_file_names_are_relative_as_given(tmp_path, monkeypatch):
    write(tmp_path, "\\input{sec/a}\n", "main.tex")
    write(tmp_path, "x 1.5\n", "sec/a.tex")
    monkeypatch.chdir(tmp_path)
    assert [(h.file, h.line, h.col) for h in extract_numbers("main.tex")] == [("sec/a.tex", 1, 3)]


def test_missing_input_is_a_clear_error(tmp_path):
    write(tmp_path, "ok\n  \\input{nothere}\n")
    with pytest.raises(AuditInputError) as e:
        extract_numbers(tmp_path / "main.tex")
    assert (e.value.line, e.value.col) == (2, 3)
    assert e.value.file.endswith("main.tex")
    assert "nothere" in e.value.message and "not found" in e.value.message
    with pytest.raises(AuditInputError, match="no such LaTeX file"):
        extract_numbers(tmp_path / "absent.tex")


def test_input_cycle_is_an_error_not_a_hang(tmp_path):
    write(tmp_path, "\\input{a}\n")
    write(tmp_path, "\\input{b}\n", "a.tex")
    write(tmp_path, "x\n\\input{a.tex}\n", "b.tex")
    with pytest.raises(AuditInputError, match="cycle") as e:
        read_tex(tmp_path / "main.tex")
    assert e.value.file.endswith("b.tex") and e.value.line == 2


def test_crlf_and_bom_keep_columns_right(tmp_path):
    p = tmp_path / "main.tex"
    p.write_bytes("\ufeffa 0.1\r\nbb 0.2\r\n".encode())
    assert lcv(extract_numbers(p)) == [(1, 3, 0.1), (2, 4, 0.2)]


# ---------------------------------------------------------------------------------------------
# What a hit carries


def test_rounding_comparison_keeps_printed_decimals(tmp_path):
    hits = found(tmp_path, "0.401, 0.40, 0.41, $0.401\\pm0.009$, 1.21\\times10^{7}, 61.5\\%\n")
    a, b, c, d, e, f = hits
    assert a.rounds_to(0.4013) and not a.rounds_to(0.4016)
    assert b.rounds_to(0.4013) and not c.rounds_to(0.4013)
    assert d.rounds_to(0.4013) and d.rounds_to(0.0091, "std") and not d.rounds_to(0.0096, "std")
    assert e.rounds_to(1.2149e7) and not e.rounds_to(1.2151e7)
    assert (e.decimals, e.sig_digits, e.resolution) == (2, 3, pytest.approx(1e5))
    assert f.rounds_to(61.54) and not f.rounds_to(0.615)


def test_context_is_one_line_around_the_number(tmp_path):
    line = "The quick brown fox jumps over the lazy dog and then FA reaches 0.401 accuracy on " * 2
    hits = found(tmp_path, "first line\n" + line + "\nlast")
    assert len(hits) == 2
    ctx = hits[0].context
    assert "0.401" in ctx and "\n" not in ctx and len(ctx) <= 62
    assert hits[0].start < hits[0].end
    assert (tmp_path / "main.tex").read_text()[hits[0].start : hits[0].end] == "0.401"


# ---------------------------------------------------------------------------------------------
# Idioms of real papers


def test_table_idioms_of_ml_papers(tmp_path):
    tex = (
        "\\begin{tabular}{lcc}\n"
        "FA & $0.401_{\\pm 0.009}$ & 0.4\\textsubscript{\\pm0.1} \\\\\n"
        "DFA & $-$0.3 & {\\color{gray}0.2}{\\color{gray}\\scriptsize $\\pm$0.01} \\\\\n"
        "\\multirow{2}{*}{EP} & \\underline{\\textbf{0.5}} & n/a \\\\\n"
        "\\end{tabular}\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.line, h.col, h.value, h.std, h.cell) for h in hits] == [
        (2, 7, 0.401, 0.009, (0, 1)),
        (2, 28, 0.4, 0.1, (0, 2)),
        (3, 8, -0.3, None, (1, 1)),
        (3, 29, 0.2, 0.01, (1, 2)),
        (4, 42, 0.5, None, (2, 1)),
    ]
    assert hits[2].text == "-$0.3"


def test_math_mode_is_tracked_through_environments_and_text(tmp_path):
    tex = (
        "a 1 $b 2 \\text{c 3 $d 4$ e 5} f 6$ g 7\n"
        "\\[ 8 \\] 9 \\( 10 \\) $$ 11 $$ 12\n"
        "\\begin{align} 13 & x \\\\ 14 \\end{align} 15\n"
        "\\begin{equation*} \\mbox{16} + 17 \\end{equation*} 18\n"
    )
    hits = found(tmp_path, tex)
    assert [(h.value, h.math) for h in hits] == [
        (1.0, False), (2.0, True), (3.0, False), (4.0, True), (5.0, False), (6.0, True),
        (7.0, False), (8.0, True), (9.0, False), (10.0, True), (11.0, True), (12.0, False),
        (13.0, True), (14.0, True), (15.0, False), (16.0, False), (17.0, True), (18.0, False),
    ]  # fmt: skip
    assert all(h.cell is None for h in hits)  # align's & is not a table cell


def test_superscript_exponents_in_text_and_name_markers(tmp_path):
    tex = "10\\textsuperscript{-3}, Author\\textsuperscript{1}, AP@50 and mAP 0.5\n"
    hits = found(tmp_path, tex)
    assert [(h.col, h.value, h.kind) for h in hits] == [(1, 1e-3, "sci"), (66, 0.5, "plain")]
