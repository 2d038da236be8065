"""The protocol options only the check side reads (`baseline`, `stability_role`) are left out of
the run hash, so choosing them retrains nothing, and a claim is still decided with its own
spec's values of them, not those of whichever spec trained the shared run."""

from __future__ import annotations

import copy
from pathlib import Path

from helpers import config, spec_text
from hypothesis import given, settings
from hypothesis import strategies as st
from test_protocol_rules import stored_result

from faspec import plan as planning
from faspec import protocol as P
from faspec.check.claims import decide
from faspec.config import hash_view, run_hash
from faspec.spec.load import load_text
from faspec.spec.model import Stats
from faspec.store import Store
from faspec.train import normalize_config
from faspec.verify import claim_data


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["mean", "paired"]), st.sampled_from(["submode", "detector"]))
def test_check_side_options_leave_the_run_hash_alone(baseline, role):
    """The default configuration a spec gets (relu, every option at its default): changing only
    the check-side options keeps the run id; a threshold the run is judged with changes it; the
    normalized config still holds them for the check side."""
    assert set(P.CHECK_SIDE) == {"baseline", "stability_role"}
    base = normalize_config({})
    cfg = copy.deepcopy(base)
    cfg["measure"]["protocol"].update(baseline=baseline, stability_role=role)
    cfg = normalize_config(cfg)
    assert cfg["measure"]["protocol"]["baseline"] == baseline
    assert cfg["measure"]["protocol"]["stability_role"] == role
    assert run_hash(cfg) == run_hash(base)
    assert "baseline" not in hash_view(cfg)["measure"]["protocol"]
    dfa = normalize_config(config("dfa", 42))
    moved = copy.deepcopy(dfa)
    moved["measure"]["protocol"]["margin_pp"] = 3.0
    assert run_hash(normalize_config(moved)) != run_hash(dfa)


def _spec(name: str, **protocol: str):
    claims = [{"id": "bp-ok", "in": "main", "expect": "bp is trustworthy"}]
    claims.append({"id": "dfa-d", "in": "main", "expect": "dfa fires d", "seeds": "1/3"})
    text = spec_text(
        name,
        experiments={"main": {"methods": ["bp", "dfa", "frozen"]}},
        claims=claims,
        measure={"eval_batch": 256, "protocol": protocol},
    )
    return load_text(text, f"{name}.yaml")


def test_a_claim_is_decided_with_its_own_specs_check_side_options(tmp_path: Path):
    """Two specs that differ only in `stability_role` and `baseline` share every run; the same
    stored runs (trained under the defaults) are judged per spec: BP with (c) firing is
    trustworthy as a sub-mode, walked back as a detector; DFA 0.33/0.33/0.40 against frozen
    0.30/0.30/0.45 fires (d) on 2 seeds against the mean, on 1 paired."""
    notes = _spec("notes")
    old = _spec("old", stability_role="detector", baseline="paired")
    plan = planning.build([notes, old])
    ids = {c: rid for c, rid in plan.cells.items()}
    by_spec = {
        s: {(c.label, c.seed): rid for c, rid in ids.items() if c.spec == s}
        for s in ("notes", "old")
    }
    assert by_spec["notes"] == by_spec["old"]  # nothing retrained for the other reading
    store = Store(tmp_path / "store")
    accs = {"bp": (0.9,) * 3, "dfa": (0.33, 0.33, 0.40), "frozen": (0.30, 0.30, 0.45)}
    for (label, seed), rid in by_spec["notes"].items():
        i = sorted({s for _, s in by_spec["notes"]}).index(seed)
        res = stored_result(accs[label][i], stab=0.98 if label == "bp" else 0.1)
        store.put(rid, plan.runs[rid], res)  # judged at training time with the defaults
    verdicts = {}
    for spec in (notes, old):
        data = claim_data(plan, store, spec, "main")
        for claim in spec.claims:
            verdicts[(spec.name, claim.id)] = decide(claim, data, Stats())
    ok = verdicts[("notes", "bp-ok")]
    assert ok.verdict == "pass" and "(c, outside the verdict, fires" in ok.message, ok.message
    walked = verdicts[("old", "bp-ok")]
    assert walked.verdict == "fail" and "walked back (c)" in walked.message, walked.message
    mean, paired = verdicts[("notes", "dfa-d")], verdicts[("old", "dfa-d")]
    assert mean.numbers["points"][0]["held"] == 2, mean.message
    assert paired.numbers["points"][0]["held"] == 1, paired.message
    assert "(same point and seed)" in paired.rule
