"""The protocol on plain numbers: firing, first epochs, verdicts, (d), sensitivity, schedules."""

from __future__ import annotations

import pytest
import torch

from faspec import protocol as P
from faspec.train import ConfigError, normalize_config
from faspec.train.tracker import Tracker


def entry(epoch: int, growth: float, g: float, stab: float | None, loss: float = 1.0) -> dict:
    return {"epoch": epoch, "growth": growth, "g_norm": g, "stability": stab, "train_loss": loss}


# a DFA-like trajectory: (b) fires at 3, (a) at 8, (c) never (0.30 exactly is not above it)
LOG = [
    entry(0, 1.1, 1e-3, 0.05, 2.3),
    entry(1, 5.0, 1e-5, 0.10, 1.5),
    entry(3, 20.0, 5e-8, 0.30, 1.3),
    entry(8, 80.0, 1e-9, None, 1.2),
    entry(10, 60.0, 2e-9, 0.2, 1.2),
]


def test_evaluate_fired_first_epoch_and_verdict() -> None:
    b = P.evaluate(LOG, P.defaults())
    assert b["fired"] == {"a": True, "b": True, "c": False, "d": None}
    assert b["first_epoch"] == {"a": 8, "b": 3, "c": None, "d": None}
    assert b["verdict"] == "walked back" and b["label"] == "walked back (a+b)"
    assert b["pending"] == ["d"] and b["needs_frozen_baseline"] is True
    assert b["critical"] == {"a": 80.0, "b": 1e-9, "c": 0.2}  # (c): at the final epoch
    assert P.extremes(LOG) == {"growth_max": 80.0, "g_norm_min": 1e-9, "stability_max": 0.30}
    pub = P.evaluate(LOG, {**P.defaults(), "set": "public", "stability": 0.01})
    assert pub["diagnostics"] == ["a", "b", "d"] and pub["fired"]["c"] is True  # logged, unused
    assert pub["label"] == "FAIL(D1+D2)"
    calm = P.evaluate(LOG[:2], P.defaults())  # nothing fired, but (d) is not decided yet
    assert calm["verdict"] == "undecided" and calm["label"] == "undecided (pending: d)"
    assert P.with_baseline(calm, 0.5, 0.3)["label"] == "trustworthy"
    pub = P.with_baseline(P.evaluate(LOG[:2], {**P.defaults(), "set": "public"}), 0.5, 0.3)
    assert pub["label"] == "PASS"


def test_stability_is_judged_at_the_final_epoch_unless_asked_for_any() -> None:
    log = [entry(0, 1.0, 1e-3, 0.9), entry(5, 1.0, 1e-3, 0.5), entry(9, 1.0, 1e-3, 0.1)]
    final = P.evaluate(log, P.defaults())
    assert final["fired"]["c"] is False and final["first_epoch"]["c"] is None
    assert final["verdict"] == "undecided" and final["critical"]["c"] == 0.1  # (d) pending
    det = {**P.defaults(), "stability_role": "detector"}
    anyw = P.evaluate(log, {**det, "stability_at": "any"})
    assert anyw["fired"]["c"] is True and anyw["first_epoch"]["c"] == 0
    assert anyw["label"] == "walked back (c)" and anyw["critical"]["c"] == 0.9
    # (c) fired at 0 and 5, calmed at 9, fires again at 12: "for good" from 12, not 0
    late = P.evaluate([*log, entry(12, 1.0, 1e-3, 0.6)], P.defaults())
    assert late["fired"]["c"] is True and late["first_epoch"]["c"] == 12
    again = P.evaluate([*log, entry(12, 1.0, 1e-3, 0.6), entry(14, 1.0, 1e-3, 0.7)], det)
    assert again["first_epoch"]["c"] == 12 and again["label"] == "walked back (c)"
    # as a sub-mode discriminator (the default) (c) fires but leaves the verdict to a, b, d
    assert late["diagnostics"] == ["a", "b", "d"] and late["reported"] == ["c"]
    assert late["verdict"] == "undecided" and late["label"] == "undecided (pending: d)"
    flags = [Tracker(normalize_config({})).update(dict(e)) for e in log]
    assert [f["fired_c"] for f in flags] == [1, 1, 0]  # "fires at this epoch"


def test_a_metric_null_everywhere_leaves_the_diagnostic_pending() -> None:
    log = [{**e, "stability": None} for e in LOG[:2]]
    b = P.evaluate(log, {**P.defaults(), "stability_role": "detector"})
    assert b["fired"]["c"] is None and b["pending"] == ["c", "d"]
    assert b["label"] == "undecided (pending: c+d)"
    sub = P.evaluate(log, P.defaults())  # (c) outside the verdict: its null leaves it pending-free
    assert sub["pending"] == ["d"] and P.with_baseline(sub, 0.5, 0.3)["verdict"] == "trustworthy"
    assert b["verdict"] == "undecided"  # an undecided diagnostic is not "did not fire"
    assert P.with_baseline(b, 0.5, 0.3)["verdict"] == "undecided"  # (c) still is
    empty = P.evaluate([], P.defaults())
    assert empty["verdict"] == "undecided" and empty["pending"] == ["a", "b", "d"]
    final, _ = Tracker(normalize_config({})).finish([])
    assert final["trustworthy"] is None and final["first_fire_a"] is None


def test_with_baseline_decides_d() -> None:
    calm = P.evaluate(LOG[:2], P.defaults())
    ok = P.with_baseline(calm, test_acc=0.40, frozen_acc=0.349)
    assert ok["fired"]["d"] is False and ok["pending"] == [] and ok["verdict"] == "trustworthy"
    assert abs(ok["margin_pp"] - 5.1) < 1e-9
    low = P.with_baseline(calm, test_acc=0.36, frozen_acc=0.349)  # +1.1 pp "should still fail"
    assert low["fired"]["d"] is True and low["label"] == "walked back (d)"
    assert calm["fired"]["d"] is None  # the input is not modified
    pub = P.with_baseline(P.evaluate(LOG, {**P.defaults(), "set": "public"}), 0.30, 0.349)
    assert pub["label"] == "FAIL(D1+D2+D3)"


def test_sensitivity_flip_points() -> None:
    def res(growth: float, g: float, stab: float, acc: float) -> dict:
        crit = {"growth_max": growth, "g_norm_min": g, "stability_max": 0.9, "stability": stab}
        return {"final": {**crit, "test_acc": acc}}

    runs = [
        res(20.0, 1e-4, 0.1, 0.60),  # trustworthy; flips at growth 20, floor 1e-4, ...
        res(80.0, 1e-4, 0.1, 0.60),  # walked back by (a) alone: flips at growth 80
        res(80.0, 1e-9, 0.1, 0.30),  # (a) and (b): no single threshold flips it
    ]
    s = P.sensitivity(runs, {**P.defaults(), "stability_role": "detector"}, frozen_acc=0.349)
    assert s["walked_back"] == 2 and s["n"] == 3
    assert s["runs"][0]["flip"]["a"] == 20.0 and s["runs"][0]["flip"]["b"] == 1e-4
    assert abs(s["runs"][0]["flip"]["d"] - 25.1) < 1e-9
    assert s["runs"][1]["flip"] == {"a": 80.0, "b": None, "c": None, "d": None}
    assert s["runs"][2]["flip"] == {"a": None, "b": None, "c": None, "d": None}
    assert s["diagnostics"]["a"]["flips"] == [20.0, 80.0]
    assert s["diagnostics"]["a"]["firing"] == 2 and s["diagnostics"]["d"]["firing"] == 1
    assert s["runs"][0]["flip"]["c"] == 0.1  # the final stability, not the max (0.9)
    det_any = {**P.defaults(), "stability_role": "detector", "stability_at": "any"}
    anyw = P.sensitivity(runs, det_any)
    assert anyw["walked_back"] == 3 and anyw["runs"][0]["flip"]["c"] == 0.9
    without = P.sensitivity(runs)  # no frozen run: (d) pending, not firing
    assert without["runs"][0]["pending"] == ["d"] and without["runs"][0]["flip"]["d"] is None
    # never "trustworthy" while (d) is pending: undecided, and the label says what is pending
    assert without["runs"][0]["verdict"] == "undecided"
    assert without["runs"][0]["label"] == "undecided (pending: d)"
    assert without["undecided"] == 1 and without["walked_back"] == 2
    # by default (c) is a sub-mode discriminator: not in the verdict set, so no flip point
    sub = P.sensitivity(runs, frozen_acc=0.349)
    assert "c" not in sub["runs"][0]["flip"] and sub["runs"][0]["verdict"] == "trustworthy"
    null_c = P.sensitivity(
        [{"final": {**runs[0]["final"], "stability": None}}],
        {**P.defaults(), "stability_role": "detector"},
        frozen_acc=0.349,
    )
    assert null_c["runs"][0]["verdict"] == "undecided" and null_c["runs"][0]["pending"] == ["c"]


def test_tracker_flags_are_cumulative_and_agree_with_the_block() -> None:
    cfg = normalize_config({"train": {"epochs": 10}})
    tr = Tracker(cfg)
    flags = [tr.update(dict(e)) for e in LOG]
    assert [f["fired_b"] for f in flags] == [0, 0, 1, 1, 1]
    assert [f["fired_a"] for f in flags] == [0, 0, 0, 1, 1]
    assert [f["ref_degenerate"] for f in flags] == [0, 0, 1, 1, 1]
    assert [f["fired_c"] for f in flags] == [0, 0, 0, None, 0]  # judged where it stands
    # (d) is pending for every run: 0 once (a) or (b) fired, never 1 before (null)
    assert [f["trustworthy"] for f in flags] == [None, None, 0, 0, 0]
    # loss_decrease is measured from the first epoch's loss, loss_decrease_init from epoch 0
    assert flags[0]["loss_decrease"] is None
    assert flags[-1]["loss_decrease"] == pytest.approx(LOG[1]["train_loss"] - 1.2)
    assert flags[-1]["loss_decrease_init"] == pytest.approx(2.3 - 1.2)
    noted = Tracker(cfg)
    noted.note_train_loss(1, torch.tensor(1.9))
    last = [noted.update(dict(e)) for e in LOG][-1]
    assert last["loss_decrease"] == pytest.approx(1.9 - 1.2)
    final, block = Tracker(cfg).finish([{**e, **f} for e, f in zip(LOG, flags, strict=True)])
    assert (final["first_fire_a"], final["first_fire_b"], final["first_fire_c"]) == (8, 3, None)
    assert (final["fired_a"], final["fired_b"], final["trustworthy"]) == (1, 1, 0)
    assert final["growth_max"] == 80.0 and final["null_deep_cos"] is None
    assert block["verdict"] == "walked back"


def test_schedule_and_protocol_options_in_the_config() -> None:
    cfg = normalize_config(
        {"train": {"epochs": 30}, "measure": {"epochs": {"dense": 5, "every": 10}}}
    )
    assert cfg["measure"]["epochs"] == [0, 1, 2, 3, 4, 5, 10, 20, 30]
    assert normalize_config(cfg) == cfg  # idempotent: the list form is canonical
    cfg = normalize_config({"train": {"epochs": 7}, "measure": {"epochs": {"every": 3}}})
    assert cfg["measure"]["epochs"] == [0, 3, 6, 7]
    assert cfg["measure"]["protocol"] == P.defaults()
    cfg = normalize_config({"measure": {"protocol": {"set": "public", "growth": 100}}})
    assert (
        cfg["measure"]["protocol"]["growth"] == 100.0
        and cfg["measure"]["protocol"]["set"] == "public"
    )
    bad = [
        ({"epochs": {"dense": 5, "evry": 10}}, "measure.epochs.evry", "every"),
        ({"epochs": {"every": 0}}, "measure.epochs.every", ""),
        ({"protocol": {"set": "papr"}}, "measure.protocol.set", "paper"),
        ({"protocol": {"growht": 3}}, "measure.protocol.growht", "growth"),
        ({"rho_dirs": -1}, "measure.rho_dirs", ""),
    ]
    for measure, path, hint in bad:
        with pytest.raises(ConfigError) as err:
            normalize_config({"measure": measure})
        assert err.value.path == path and hint in err.value.hint


def test_trustworthy_entry_is_undecided_while_a_value_is_null() -> None:
    tr = Tracker(normalize_config({}))
    flags = tr.update({**LOG[0], "stability": None})
    assert flags["trustworthy"] is None and flags["fired_c"] is None


@pytest.mark.parametrize("n", [128, 1024, 4096])
def test_gradient_floor_follows_the_evaluation_batch(n: int) -> None:
    """g of the batch-mean CE scales as 1/N: a per-sample gradient p gives ‖g_L‖ = p/N, and
    whether (b) fires must not depend on N (the floor 1e-7 is stated for N = 1024)."""
    proto = {**P.defaults(), "eval_batch": n}
    assert P.g_floor_at(proto) == pytest.approx(1e-7 * 1024 / n)
    assert P.fires("b", 5e-5 / n, proto) is True and P.fires("b", 2e-4 / n, proto) is False
    block = P.evaluate([entry(0, 1.0, 2e-4 / n, 0.1)], proto)
    assert block["thresholds"]["eval_batch"] == n and block["fired"]["b"] is False
    assert P.g_floor_at(P.defaults()) == 1e-7  # stored results without eval_batch: as stated
    final = {"g_norm_min": 2e-4 / n, "growth_max": 1.0, "stability": 0.0}
    s = P.sensitivity([{"final": final}], proto)
    assert s["runs"][0]["flip"]["b"] == pytest.approx(2e-4 / 1024)  # in g_floor's units
