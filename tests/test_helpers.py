"""The throwaway-input builders of tests/helpers.py give what faspec reads as valid input."""

from __future__ import annotations

import yaml
from helpers import spec_text, write_paper, write_spec

from faspec.spec.load import load


def test_spec_from_a_few_lines_loads_with_overrides(tmp_path):
    path = write_spec(
        tmp_path / "specs",
        "depth",
        model={"blocks": 4},
        seeds=[42, 123],
        experiments={"main": {"methods": ["bp", "fa"]}},
        claims=[{"id": "fa-below-bp", "in": "main", "expect": "bp > fa"}],
    )
    spec = load(path)
    assert spec.name == "depth" and [c.id for c in spec.claims] == ["fa-below-bp"]
    text = path.read_text()
    assert "blocks: 4" in text and "d: 16" in text and "seeds: [42, 123]" in text


def test_raw_claim_lines_are_kept_verbatim():
    text = spec_text(claims="  - {id: x, in: main, expect: bp > frozen}\n")
    assert text.endswith("claims:\n  - {id: x, in: main, expect: bp > frozen}\n")


def test_paper_with_an_input_file(tmp_path):
    main = write_paper(tmp_path, "\\input{sec/res}\n", **{"sec/res.tex": "BP $0.615$.\n"})
    assert main.read_text() == "\\input{sec/res}\n"
    assert (tmp_path / "sec" / "res.tex").read_text() == "BP $0.615$.\n"


def test_empty_base_writes_only_the_sections_passed():
    text = spec_text(base={}, data={"name": "teacher"}, train={"epochs": 1}, seeds=[1])
    doc = yaml.safe_load(text)
    assert doc["defaults"] == {"data": {"name": "teacher"}, "train": {"epochs": 1}, "seeds": [1]}
    # the tiny sizes are still there without `base`
    assert yaml.safe_load(spec_text(train={"epochs": 1}))["defaults"]["train"] == {
        "epochs": 1,
        "batch_size": 128,
    }
    assert "defaults" not in yaml.safe_load(spec_text(base={}))
