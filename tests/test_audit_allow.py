"""Allowance files: every exemption needs a reason, and a bad entry names its file and line."""

from __future__ import annotations

import pytest

from faspec.audit import AuditInputError, discover, extract_numbers, load_allowances
from faspec.audit.allow import load_audit_yaml, load_pyproject


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def hits(tmp_path):
    write(tmp_path, "paper/main.tex", "p < 0.05, eps $10^{-8}$, 0.401\\pm0.009\n\\input{sec/a}\n")
    write(tmp_path, "paper/sec/a.tex", "eps $10^{-8}$ again, 0.5 and 2021 is a year, $2021$\n")
    return {(h.file.split("paper/")[1], h.line, h.text): h
            for h in extract_numbers(tmp_path / "paper" / "main.tex")}  # fmt: skip


def test_yaml_entries_match_by_value_text_pattern_file_and_line(tmp_path, hits):
    allow = write(
        tmp_path,
        "audit.yaml",
        "- value: 0.05\n"
        "  reason: significance threshold\n"
        "- text: '10^{ -8 }'\n"
        "  file: sec/*.tex\n"
        "  reason: Adam epsilon in the appendix\n"
        "- pattern: '0\\.5'\n"
        "  line: 1\n"
        "  reason: a half\n"
        "- value: 1e-7\n"
        "  reason: never used\n",
    )
    a = load_allowances([allow])
    assert len(a) == 4
    assert [e.where[1:] for e in a.entries] == [(1, 3), (3, 3), (6, 3), (9, 3)]
    assert a.entries[3].value == 1e-7  # YAML 1.1 reads 1e-7 as a string; accepted as a number
    assert a.is_allowed(hits[("main.tex", 1, "0.05")]) == "significance threshold"
    assert a.is_allowed(hits[("main.tex", 1, "10^{-8}")]) is None  # file does not match
    assert a.is_allowed(hits[("sec/a.tex", 1, "10^{-8}")]) == "Adam epsilon in the appendix"
    assert a.is_allowed(hits[("sec/a.tex", 1, "0.5")]) == "a half"
    assert a.is_allowed(hits[("main.tex", 1, "0.401\\pm0.009")]) is None
    assert a.is_allowed(hits[("sec/a.tex", 1, "2021")]) is None
    assert [e.reason for e in a.unused()] == ["never used"]


def test_pattern_must_match_the_whole_snippet(tmp_path, hits):
    a = load_allowances([write(tmp_path, "audit.yml", "allow:\n- {pattern: '0', reason: r}\n")])
    assert a.is_allowed(hits[("sec/a.tex", 1, "0.5")]) is None
    a = load_allowances([write(tmp_path, "b.yml", "allow:\n- {pattern: '0\\.\\d', reason: r}\n")])
    assert a.is_allowed(hits[("sec/a.tex", 1, "0.5")]) == "r"


@pytest.mark.parametrize(
    "text, line, col, words",
    [
        ("- value: 0.05\n  reason: ok\n- value: 3\n", 3, 3, "without a reason"),
        ("- value: 0.05\n  reason: '  '\n", 1, 3, "without a reason"),
        ("- value: 3\n  resaon: typo\n", 1, 3, "did you mean 'reason'"),
        ("- reason: nothing to match\n", 1, 3, "matches nothing"),
        ("- value: abc\n  reason: r\n", 1, 3, "not a number"),
        ("- pattern: '(['\n  reason: r\n", 1, 3, "invalid pattern"),
        ("- value: 1\n  line: two\n  reason: r\n", 1, 3, "line must be an integer"),
        ("- value: [1\n", 2, 1, "invalid YAML"),
        ("reasons: []\n", 1, 1, "unknown top-level key"),
    ],
)
def test_bad_yaml_entries_name_file_line_and_col(tmp_path, text, line, col, words):
    p = write(tmp_path, "audit.yaml", text)
    with pytest.raises(AuditInputError) as e:
        load_audit_yaml(p)
    assert (e.value.file, e.value.line, e.value.col) == (str(p), line, col)
    assert words in str(e.value)


def test_empty_yaml_allows_nothing(tmp_path):
    assert load_audit_yaml(write(tmp_path, "audit.yaml", "# nothing yet\n")) == []


def test_pyproject_inline_array(tmp_path, hits):
    p = write(
        tmp_path,
        "pyproject.toml",
        "[project]\nname = 'x'\n\n[tool.faspec.audit]\nallow = [\n"
        '  {value = 0.05, reason = "threshold"},  # a comment with { braces\n'
        '  {text = "0.5", reason = "a { b"},\n'
        "]\n",
    )
    entries = load_pyproject(p)
    assert [(e.reason, e.where[1:]) for e in entries] == [("threshold", (6, 3)), ("a { b", (7, 3))]
    a = load_allowances([p])
    assert a.is_allowed(hits[("sec/a.tex", 1, "0.5")]) == "a { b"


def test_pyproject_missing_reason_names_the_entry_line(tmp_path):
    p = write(
        tmp_path,
        "pyproject.toml",
        '[tool.faspec.audit]\nallow = [\n  {value = 0.05, reason = "ok"},\n  {value = 0.5},\n]\n',
    )
    with pytest.raises(AuditInputError, match="without a reason") as e:
        load_pyproject(p)
    assert (e.value.line, e.value.col) == (4, 3)


def test_pyproject_array_of_tables(tmp_path):
    p = write(
        tmp_path,
        "pyproject.toml",
        "[tool.faspec.audit]\n\n[[tool.faspec.audit.allow]]\nvalue = 1\nreason = 'one'\n\n"
        "[[tool.faspec.audit.allow]]\npattern = '2\\d+'\n",
    )
    with pytest.raises(AuditInputError, match="without a reason") as e:
        load_pyproject(p)
    assert e.value.line == 7


def test_pyproject_without_the_table_allows_nothing(tmp_path):
    assert load_pyproject(write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")) == []


def test_invalid_toml_is_an_input_error(tmp_path):
    p = write(tmp_path, "pyproject.toml", "[tool.faspec.audit]\nallow = [\n")
    with pytest.raises(AuditInputError, match="invalid TOML"):
        load_pyproject(p)


def test_discover_finds_audit_yaml_beside_the_paper_and_the_nearest_pyproject(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.faspec.audit]\nallow = []\n")
    paper = write(tmp_path, "paper/main.tex", "x\n")
    assert discover(paper) == [tmp_path / "pyproject.toml"]
    write(tmp_path, "paper/audit.yaml", "[]\n")
    assert discover(paper) == [tmp_path / "paper" / "audit.yaml", tmp_path / "pyproject.toml"]
    write(tmp_path, "paper/pyproject.toml", "[project]\nname = 'inner'\n")
    assert discover(paper) == [tmp_path / "paper" / "audit.yaml"]  # nearest has no audit table
