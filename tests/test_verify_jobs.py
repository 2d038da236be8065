"""The plan's runs become jobs: seeds of one packable config form one packed job."""

from __future__ import annotations

from helpers import spec_text

from faspec.plan import build
from faspec.spec.load import load_text
from faspec.store import Store
from faspec.verify import make_jobs, train_missing


def pack_spec(pack: str | bool, methods: tuple[str, ...] = ("bp", "ep")) -> str:
    """Three seeds of `methods` at `train.pack_seeds: pack` (EP cannot pack)."""
    return spec_text(
        "packs",
        base={},
        data={"name": "teacher", "n_train": 512, "n_test": 256},
        model={"arch": "resmlp", "d": 16, "blocks": 2},
        train={"epochs": 1, "pack_seeds": pack},
        measure={"eval_batch": 128, "rho_dirs": 2},
        seeds=[1, 2, 3],
        experiments={"main": {"methods": list(methods)}},
    )


def test_seeds_of_a_packable_config_become_one_job():
    plan = build([load_text(pack_spec("auto"), "p.yaml")])
    jobs = make_jobs(plan, list(plan.runs))
    packed = [j for j in jobs if j.members]
    single = [j for j in jobs if not j.members]
    assert len(packed) == 1 and len(packed[0].members) == 3  # bp's three seeds
    assert {plan.runs[j.run_id]["method"]["name"] for j in single} == {"ep"}  # EP cannot pack
    assert len(single) == 3


def test_pack_seeds_false_keeps_one_job_per_run():
    plan = build([load_text(pack_spec(False), "p.yaml")])
    assert all(not j.members for j in make_jobs(plan, list(plan.runs)))


def test_packed_runs_are_stored_one_folder_per_seed(tmp_path):
    from faspec.execute.local import LocalExecutor

    spec = load_text(pack_spec("auto", ("bp",)), "p.yaml")
    plan = build([spec])
    store = Store(tmp_path)
    summary = train_missing(plan, store, lambda: LocalExecutor("cpu"))
    assert sorted(summary.trained) == sorted(plan.runs)
    for rid in plan.runs:
        res = store.get(rid)
        assert res["status"] == "ok" and res["provenance"]["pack_size"] == 3
        assert store.config(rid)["seed"] in (1, 2, 3)


SWEEP = spec_text(
    "sweep",
    base={},
    data={"name": "teacher", "n_train": 256, "n_test": 128},
    model={"arch": "resmlp", "d": 16, "blocks": 2},
    train={"epochs": 1},
    measure={"eval_batch": 128, "rho_dirs": 0},
    seeds=[1, 2],
    experiments={
        "lam": {"methods": ["dfa"], "sweep": {"method.penalty": [0.0, 1.0e-4, 1.0e-2]}},
        "lam_fast": {
            "methods": ["dfa"],
            "train": {"lr": 3.0e-3},
            "sweep": {"method.penalty": [0.0, 1.0e-4, 1.0e-2]},
        },
        "wide": {"methods": ["dfa"], "model": {"d": 32}},
    },
)


def test_a_penalty_and_lr_sweep_is_one_pack_and_shapes_split_packs():
    plan = build([load_text(SWEEP, "s.yaml")])
    jobs = make_jobs(plan, list(plan.runs))
    packed = [j for j in jobs if j.members]
    sizes = sorted(len(j.members) for j in packed)
    assert sizes == [
        2,
        12,
    ]  # 2 lrs x 3 penalties x 2 seeds (two experiments); the wider model apart
    big = max(packed, key=lambda j: len(j.members))
    assert {c["method"]["penalty"] for _, c in big.members} == {0.0, 1e-4, 1e-2}
    assert {c["train"]["lr"] for _, c in big.members} == {1e-3, 3e-3}


def test_pack_size_bounds_a_pack():
    plan = build([load_text(SWEEP, "s.yaml")])
    jobs = make_jobs(plan, list(plan.runs), max_pack=5)
    assert sorted(len(j.members) for j in jobs if j.members) == [2, 2, 5, 5]
    assert len(make_jobs(plan, list(plan.runs), max_pack=1)) == len(plan.runs)
