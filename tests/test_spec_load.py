"""Loading valid specs: merging defaults, sweeps, method entries, reported values, stats, schema."""

import json
import textwrap
from importlib import resources

import jsonschema
import pytest

from faspec.spec.expr import Compare
from faspec.spec.load import DEFAULT_METRIC_STATS, SpecError, load, load_many, load_text, schema
from faspec.spec.model import MethodEntry, Reported

pytestmark = pytest.mark.usefixtures("v1_methods")  # conftest.py


# Written as text on purpose (not tests/helpers.spec_text): the README's example as a user
# writes it, and the test asserts line:col positions in it.
README_EXAMPLE = """\
faspec: 1
name: fa_vs_dfa
title: FA has deep credit where DFA has none
defaults:                                   # merged into every experiment
  data: {name: cifar10}
  model: {arch: resmlp, d: 256, blocks: 4, terminal_ln: true}
  train: {epochs: 100, batch_size: 128, optimizer: adamw, lr: 1.0e-3, weight_decay: 0.01, schedule: cosine}
  seeds: [42, 123, 456]
experiments:
  audit:
    methods: [bp, fa, dfa, frozen]
  depth:
    model: {d: 512}
    methods: [fa, dfa]
    seeds: [42]
    sweep: {model.blocks: [2, 4, 6, 8, 12]}
claims:
  - id: fa-beats-dfa
    where: "Table 1"                       # where the paper states it
    in: audit
    expect: fa > dfa                       # metric defaults to test_acc
    reported: {fa: 0.401 ± 0.009, dfa: 0.306 ± 0.008}
  - id: dfa-undercuts-frozen
    in: audit
    expect: dfa < frozen
    seeds: all                             # must hold seed by seed, not only on the mean
  - id: fa-deep-credit-at-every-depth
    in: depth
    expect: fa.deep_cos > 0
    for_each: model.blocks
  - id: dfa-gradient-floor-early
    in: audit
    expect: dfa.g_norm < 1e-7 by epoch 5
    seeds: all
"""


def spec(text: str):
    return load_text(textwrap.dedent(text), "s.yaml")


def test_design_example_loads():
    s = load_text(README_EXAMPLE, "fa_vs_dfa.yaml")
    assert s.name == "fa_vs_dfa" and s.title.startswith("FA has")
    assert list(s.experiments) == ["audit", "depth"]
    audit, depth = s.experiments["audit"], s.experiments["depth"]
    assert [m.label for m in audit.methods] == ["bp", "fa", "dfa", "frozen"]
    assert audit.seeds == [42, 123, 456] and depth.seeds == [42]
    assert len(audit.points) == 1 and audit.points[0].key == ()
    assert [p.key for p in depth.points] == [(("model.blocks", b),) for b in (2, 4, 6, 8, 12)]
    # deep merge: the experiment's d wins, the defaults' other keys stay, the sweep overrides blocks
    assert depth.points[2].config["model"] == {
        "arch": "resmlp",
        "d": 512,
        "blocks": 6,
        "terminal_ln": True,
    }
    assert audit.points[0].config["model"]["d"] == 256
    assert depth.points[0].config["train"]["lr"] == 1e-3
    assert depth.points[0].config["method"] == {}
    c = {c.id: c for c in s.claims}
    assert c["fa-beats-dfa"].where_paper == "Table 1"
    assert isinstance(c["fa-beats-dfa"].expr, Compare)
    assert c["fa-beats-dfa"].reported["fa"] == Reported(0.401, 0.009, None, "0.401 ± 0.009", 3, 3)
    assert c["dfa-undercuts-frozen"].seeds == "all"
    assert c["fa-deep-credit-at-every-depth"].for_each == "model.blocks"
    assert c["dfa-gradient-floor-early"].expr.by_epoch == 5
    assert c["fa-beats-dfa"].where.line == 18
    assert (c["fa-beats-dfa"].expect_where.line, c["fa-beats-dfa"].expect_where.col) == (21, 13)


# Written as text on purpose: the tests below edit it line by line and assert positions in it.
BASE = """\
faspec: 1
name: t
defaults:
  data: {name: teacher, n_train: 256}
  model: {arch: resmlp, d: 16, blocks: 2}
  train: {epochs: 2, lr: 1e-3}
  measure: {epochs: all}
  seeds: [1, 2, 3]
  methods: [bp]
  resources: {gpus: 0.25}
"""


def test_replaced_vs_merged_sections():
    s = spec(
        BASE
        + """\
experiments:
  a:
    methods: [fa, dfa]
    seeds: [7]
    resources: {cpus: 2}
    model: {blocks: 3}
    data: {n_train: 512}
  b: {}
"""
    )
    a, b = s.experiments["a"], s.experiments["b"]
    assert [m.label for m in a.methods] == ["fa", "dfa"] and a.seeds == [7]
    assert a.resources == {"cpus": 2}
    assert (
        b.resources == {"gpus": 0.25}
        and b.seeds == [1, 2, 3]
        and [m.name for m in b.methods] == ["bp"]
    )
    cfg = a.points[0].config
    assert cfg["model"] == {"arch": "resmlp", "d": 16, "blocks": 3}
    assert cfg["data"] == {"name": "teacher", "n_train": 512}
    assert cfg["train"]["lr"] == 0.001  # 1e-3 is a float, not the string YAML 1.1 would make it
    assert set(cfg) == {"data", "model", "train", "measure", "method"}


def test_sweep_cartesian_order_and_method_axis():
    s = spec(
        BASE
        + """\
experiments:
  grid:
    methods: [dfa, {method: dfa, as: dfa_pen, penalty: 0.01}]
    sweep:
      model.blocks: [2, 4]
      method.penalty: [0.0, 0.1]
      train.epochs: [1]
"""
    )
    e = s.experiments["grid"]
    assert e.methods[1] == MethodEntry("dfa_pen", "dfa", {"penalty": 0.01})
    assert [p.key for p in e.points] == [
        (("model.blocks", 2), ("method.penalty", 0.0), ("train.epochs", 1)),
        (("model.blocks", 2), ("method.penalty", 0.1), ("train.epochs", 1)),
        (("model.blocks", 4), ("method.penalty", 0.0), ("train.epochs", 1)),
        (("model.blocks", 4), ("method.penalty", 0.1), ("train.epochs", 1)),
    ]
    p = e.points[3].config
    assert (
        p["model"]["blocks"] == 4 and p["train"]["epochs"] == 1 and p["method"] == {"penalty": 0.1}
    )
    # points do not share mutable config
    p["model"]["blocks"] = 99
    assert e.points[2].config["model"]["blocks"] == 4


def test_reported_forms():
    s = spec(
        BASE
        + """\
experiments:
  a: {methods: [bp, fa, dfa, frozen]}
claims:
  - id: r
    in: a
    expect: fa > dfa
    reported:
      fa: 0.401 ± 0.009
      dfa: "0.306 +- 0.008"
      bp: 0.52
      frozen: "0.100 ± 0.010 (n=3)"
      fa.train_loss: {mean: 1.20, std: 0.05, n: 3}
"""
    )
    r = s.claims[0].reported
    assert r["fa"] == Reported(0.401, 0.009, None, "0.401 ± 0.009", 3, 3)
    assert (r["dfa"].mean, r["dfa"].std, r["dfa"].n) == (0.306, 0.008, None)
    assert (r["bp"].mean, r["bp"].std, r["bp"].decimals) == (0.52, None, 2)
    assert (r["frozen"].mean, r["frozen"].std, r["frozen"].n) == (0.1, 0.01, 3)
    assert r["frozen"].resolution() == pytest.approx(0.0005)
    lm = r["fa.train_loss"]
    assert (lm.mean, lm.std, lm.n, lm.decimals, lm.std_decimals) == (1.2, 0.05, 3, 2, 2)


def test_claim_fields_for_each_at_metric_covers():
    s = spec(
        BASE
        + """\
experiments:
  d:
    methods: [fa, dfa]
    sweep: {model.blocks: [2, 4], train.epochs: [1, 2]}
claims:
  - id: x
    in: d
    expect: fa.cos_layers[0] > 0 and fa > dfa
    metric: train_loss
    for_each: model.blocks
    at: {train.epochs: 2}
    seeds: 2/3
    covers: [C01, C02]
"""
    )
    c = s.claims[0]
    assert (c.metric, c.for_each, c.at, c.seeds, c.covers) == (
        "train_loss",
        "model.blocks",
        {"train.epochs": 2},
        "2/3",
        ["C01", "C02"],
    )


def test_single_valued_axis_needs_no_selection():
    s = spec(
        BASE
        + """\
experiments:
  d:
    methods: [fa, dfa]
    sweep: {model.blocks: [2, 4], train.epochs: [2]}
claims:
  - {id: x, in: d, expect: fa > dfa, for_each: model.blocks}
"""
    )
    assert s.claims[0].at == {}


def test_stats_defaults_and_overrides():
    s = spec(
        BASE
        + """\
experiments:
  a: {}
stats:
  alpha: 0.01
  test: student
  metrics:
    test_acc: {close: 0.02}
    g_norm: {much_ratio: 100}
"""
    )
    assert (s.stats.alpha, s.stats.test) == (0.01, "student")
    assert (s.stats.metric("test_acc").close, s.stats.metric("test_acc").much) == (0.02, 0.05)
    g = s.stats.metric("g_norm")
    assert (g.scale, g.close_ratio, g.much_ratio) == ("log", 2.0, 100)
    assert DEFAULT_METRIC_STATS["g_norm"].much_ratio == 10.0  # defaults untouched


def test_default_metric_stats_values():
    d = DEFAULT_METRIC_STATS
    assert (d["test_acc"].close, d["test_acc"].much) == (0.01, 0.05)
    assert (d["train_loss"].close, d["train_loss"].much) == (0.05, 0.2)
    for m in ("deep_cos", "gamma", "cos_layers"):
        assert (d[m].close, d[m].much, d[m].scale) == (0.05, 0.2, "linear")
    for m in ("h_norm", "g_norm", "growth", "h_norm_layers", "g_norm_layers"):
        assert (d[m].scale, d[m].close_ratio, d[m].much_ratio) == ("log", 2.0, 10.0)
    s = spec(BASE + "experiments:\n  a: {}\n")
    assert (s.stats.alpha, s.stats.test) == (0.05, "welch")


def test_load_file_and_directory(tmp_path):
    (tmp_path / "b.yaml").write_text(
        BASE.replace("name: t\n", "name: b\n") + "experiments:\n  a: {}\n"
    )
    (tmp_path / "a.yml").write_text(
        BASE.replace("name: t\n", "name: a\n") + "experiments:\n  a: {}\n"
    )
    (tmp_path / "notes.txt").write_text("not a spec")
    one = load(tmp_path / "b.yaml")
    assert one.name == "b" and one.path == tmp_path / "b.yaml"
    specs = load_many([tmp_path])
    assert [s.name for s in specs] == ["a", "b"]
    assert [s.name for s in load_many(tmp_path)] == ["a", "b"]


def test_load_many_rejects_duplicate_names(tmp_path):
    for f in ("x.yaml", "y.yaml"):
        (tmp_path / f).write_text(BASE + "experiments:\n  a: {}\n")
    with pytest.raises(SpecError) as info:
        load_many(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'y.yaml'}:2:7: spec name 't' is already used")


def test_missing_file():
    with pytest.raises(SpecError) as info:
        load("/nonexistent/spec.yaml")
    assert str(info.value) == "/nonexistent/spec.yaml: no such file"  # no ':0:0'


def test_schema_is_valid_2020_12_and_shipped():
    sch = schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    assert sch["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    shipped = json.loads(resources.files("faspec.spec").joinpath("schema.json").read_text())
    assert shipped == sch
    schema()["properties"].clear()  # a copy: callers may not corrupt it
    assert schema()["properties"]


def _walk_properties(node, path=""):
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{path}/{name}", sub
        for k, v in node.items():
            yield from _walk_properties(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_properties(v, f"{path}/{i}")


def test_every_field_has_a_description():
    sch = schema()
    defs = sch["$defs"]
    missing = []
    for path, sub in _walk_properties(sch):
        if "description" in sub:
            continue
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/") and "description" in defs[ref.split("/")[-1]]:
            continue
        missing.append(path)
    assert not missing
    for name in ("alpha", "test", "metrics"):
        assert "description" in sch["properties"]["stats"]["properties"][name]
    # the defaults are documented where editors show them
    desc = sch["properties"]["stats"]["description"]
    for fragment in (
        "alpha 0.05",
        "test welch",
        "test_acc close 0.01 much 0.05",
        "close_ratio 2",
        "much_ratio 10",
    ):
        assert fragment in desc


def test_yaml_anchors_and_merge_keys():
    s = spec(
        BASE
        + """\
experiments:
  a: &base {methods: [fa, dfa], model: {blocks: 5}}
  b:
    <<: *base
    seeds: [9]
"""
    )
    b = s.experiments["b"]
    assert [m.label for m in b.methods] == ["fa", "dfa"] and b.seeds == [9]
    assert b.points[0].config["model"]["blocks"] == 5


def test_method_sweep_axis_error_located_at_sweep():
    with pytest.raises(SpecError) as info:
        spec(
            BASE
            + "experiments:\n  a:\n    methods: [dfa]\n    sweep: {method.penalty: [0.1, oops]}\n"
        )
    assert str(info.value).startswith("s.yaml:14:13: method.penalty")


PROFILED = (
    BASE
    + """\
experiments:
  a: {methods: [fa, dfa]}
claims:
  - {id: c, in: a, expect: fa > dfa, seeds: all}
profiles:
  smoke:
    defaults: {train: {epochs: 1}, seeds: [5]}
    experiments: {a: {model: {blocks: 1}}}
"""
)


def test_profile_is_applied_only_when_asked():
    full = spec(PROFILED)
    assert full.profile is None and full.experiments["a"].seeds == [1, 2, 3]
    smoke = load_text(PROFILED, "s.yaml", profile="smoke")
    a = smoke.experiments["a"]
    assert smoke.profile == "smoke" and a.seeds == [5]
    assert a.points[0].config["train"] == {"epochs": 1, "lr": 1e-3}
    assert a.points[0].config["model"] == {"arch": "resmlp", "d": 16, "blocks": 1}


def test_profile_errors_are_located():
    with pytest.raises(SpecError) as info:
        load_text(PROFILED, "s.yaml", profile="smok")
    assert (
        str(info.value)
        == "s.yaml:15:1: profile 'smok' is not defined in this spec (hint: did you mean 'smoke'?)"
    )
    bad = PROFILED.replace("seeds: [5]}", "seeds: [5.5]}")
    with pytest.raises(SpecError) as info:
        load_text(bad, "s.yaml", profile="smoke")
    assert str(info.value).startswith("s.yaml:17:44: defaults.seeds[0]: a seed must be an integer")
    bad = PROFILED.replace("experiments: {a:", "experiments: {b:")
    with pytest.raises(SpecError, match="overrides experiment 'b', which does not exist"):
        load_text(bad, "s.yaml", profile="smoke")
    bad = PROFILED.replace("    experiments: {a:", "    name: {a:")
    with pytest.raises(SpecError, match="a profile cannot override 'name'"):
        load_text(bad, "s.yaml", profile="smoke")


def test_load_many_with_profile(tmp_path):
    (tmp_path / "p.yaml").write_text(PROFILED)
    (specs,) = load_many([tmp_path], profile="smoke")
    assert specs.experiments["a"].seeds == [5]


def test_experiment_naming_another_dataset_does_not_inherit_its_options():
    from faspec.spec.load import load_text

    # written as text, as the tests around it: the YAML a user writes for three datasets
    text = """\
faspec: 1
name: x
defaults:
  data: {name: teacher, seed: 3, n_train: 1024}
  model: {arch: resmlp, d: 16}
  seeds: [1]
experiments:
  a:
    methods: [bp]
  b:
    methods: [bp]
    data: {name: cifar10, n_train: 100}
  c:
    methods: [bp]
    data: {n_test: 256}
claims: []
"""
    spec = load_text(text, "x.yaml")
    assert spec.experiments["b"].points[0].config["data"] == {"name": "cifar10", "n_train": 100}
    assert spec.experiments["c"].points[0].config["data"] == {
        "name": "teacher",
        "seed": 3,
        "n_train": 1024,
        "n_test": 256,
    }
