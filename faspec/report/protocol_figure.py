"""The figure of a protocol claim (`dfa is walked_back`, `fa never fires a+b`, `dfa fires b by
epoch 5`): the diagnostics it reads, per epoch and per seed, against their thresholds.

One panel per diagnostic of the claim's protocol set: (a) growth against the growth threshold,
(b) ‖g_L‖ against the floor on the run's evaluation batch (`faspec.protocol.g_floor_at`), (c)
gradient stability against its threshold, (d) the accuracy margin over the frozen-blocks
baseline of the same seed, in percentage points, against `margin_pp`. One line per seed and
method; the first-firing epoch each seed's verdict records is marked with an ×. The thresholds
are the claim's own (read from its numbers, as the verdict used them), never defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faspec.protocol import g_floor_at
from faspec.report.claim_view import claim_id_of

# diagnostic -> (log-entry metric, axis label, threshold from the protocol block, log scale)
PANELS = {
    "a": ("growth", "(a) growth = max ‖h_{l+1}‖/‖h_l‖", lambda t: t.get("growth"), True),
    "b": ("g_norm", "(b) ‖g_L‖", lambda t: g_floor_at(t) if t.get("g_floor") else None, True),
    "c": ("stability", "(c) stability of g", lambda t: t.get("stability"), False),
    "d": ("margin_pp", "(d) acc − frozen acc (pp)", lambda t: t.get("margin_pp"), False),
}


def _series(
    result: dict[str, Any] | None, metric: str, frozen: dict[str, Any] | None
) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    base = {e.get("epoch"): e.get("test_acc") for e in (frozen or {}).get("log") or []}
    for e in (result or {}).get("log") or []:
        if metric == "margin_pp":
            acc, ref = e.get("test_acc"), base.get(e.get("epoch"))
            v = None if acc is None or ref is None else 100.0 * (acc - ref)
        else:
            v = e.get(metric)
        if isinstance(v, int | float) and e.get("epoch") is not None:
            xs.append(float(e["epoch"]))
            ys.append(float(v))
    return xs, ys


def protocol_figure(
    claim: dict[str, Any],
    rows: list[dict[str, Any]],
    results: dict[str, dict[str, Any] | None],
    new_figure: Callable[..., tuple[Any, list[Any]]],
    to_png: Callable[[Any, str], str],
    colour: Callable[[str], str],
) -> str | None:
    """The per-epoch diagnostics of a protocol claim's runs (None: not a protocol claim, or
    nothing stored to draw). `faspec.report.figures` passes its figure, PNG and colour helpers,
    so that every figure looks alike and this module does not import that one back."""

    points = [p for p in (claim.get("numbers") or {}).get("points") or [] if p.get("protocol")]
    if not points:
        return None
    proto = points[0]["protocol"]
    thresholds = proto.get("thresholds") or {}
    diags = [d for d in proto.get("diagnostics") or [] if d in PANELS]
    baseline = proto.get("baseline") or "frozen"
    firsts: dict[tuple[str, Any], dict[str, Any]] = {}
    for p in points:
        for s in p.get("per_seed") or []:
            for key, v in (s.get("values") or {}).items():
                label, _, what = key.partition(".")
                if what.startswith("first_") and v is not None:
                    firsts.setdefault((label, s.get("seed")), {})[what[6:]] = v
    labels = sorted({lab for lab, _ in firsts} | _labels(points))
    by = {(r.get("label"), r.get("seed")): r.get("run") for r in rows}
    if not diags or not labels:
        return None
    fig, axes = new_figure(ncols=min(len(diags), 4))
    drawn = False
    for ax, d in zip(axes, diags, strict=False):
        metric, title, thr, log = PANELS[d]
        for label in labels:
            for (lab, seed), rid in sorted(by.items(), key=lambda kv: str(kv[0])):
                if lab != label:
                    continue
                frozen = results.get(by.get((baseline, seed)) or "") if d == "d" else None
                xs, ys = _series(results.get(rid or ""), metric, frozen)
                if not xs:
                    continue
                drawn = True
                ax.plot(xs, ys, color=colour(label), lw=1.2, alpha=0.8, marker=".")
                first = firsts.get((label, seed), {}).get(d)
                if first is not None and float(first) in xs:
                    y = ys[xs.index(float(first))]
                    ax.plot([first], [y], "x", color="black", ms=8, mew=2, zorder=5)
                    ax.annotate(
                        f"{label} s{seed}",
                        (first, y),
                        fontsize=7,
                        xytext=(3, 3),
                        textcoords="offset points",
                    )
        t = thr(thresholds)
        if t is not None:
            ax.axhline(t, color="#444", lw=1, ls="--")
            ax.annotate(
                f"threshold {t:g}",
                xy=(0, t),
                xycoords=("axes fraction", "data"),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=8,
                color="#444",
            )
        if log and all(y > 0 for line in ax.get_lines() for y in line.get_ydata()):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if not drawn:
        return None
    axes[0].annotate(
        f"{claim.get('expect', '')}: one line per seed; × first firing",
        xy=(0, 1.12),
        xycoords="axes fraction",
        fontsize=9,
    )
    return to_png(fig, f"per-epoch protocol diagnostics of {claim_id_of(claim)}")


def _labels(points: list[dict[str, Any]]) -> set[str]:
    out = set()
    for p in points:
        for s in p.get("per_seed") or []:
            out |= {k.partition(".")[0] for k in s.get("values") or {}}
    return out
