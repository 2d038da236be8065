r"""The words a paper uses for each metric and each configuration key.

The audit compares a printed number with a claimed value only when the number's context names
that value's metric, and calls a number CONFIG only when its context names the key it equals
(see `faspec.audit.context`). This module holds the two word lists and the one normalisation
both are matched on. (The lists could move into the metric and option registries
(`faspec/train/registry.py`, `faspec/train/config.py`) once those are importable without
torch; they live here so that the audit owns its vocabulary.)

`plain(latex)` turns LaTeX into lowercase words: control words lose their backslash
(``\cos`` -> ``cos``, ``\Gamma`` -> ``gamma``), Greek letters are spelled (``λ`` -> ``lambda``),
``\|``/``\Vert``/``‖`` become ``‖``, ``\%`` and ``%`` become ``%``, braces, ``$``, ``^``, ``_``
and ``~`` become spaces; commas, semicolons, colons and parentheses are kept (they end a
clause). A word list entry is a regular expression over that text, matched between word
boundaries (``per block`` also matches ``per-block``).

A metric or key the lists do not know is named by its own name, underscores read as spaces or
hyphens (``noise_samples`` is named by "noise samples").
"""

from __future__ import annotations

import re
from functools import cache

__all__ = [
    "CONFIG_WORDS",
    "METRIC_WORDS",
    "any_metric_pattern",
    "config_pattern",
    "metric_pattern",
    "metric_words_at",
    "plain",
]

_COS = (r"cos(?:ine)?s?", r"align(?:ment|ed|s)?", r"gamma", r"angles?")
_H_NORM = (r"‖ h", r"norms?", r"scale", r"magnitude", r"activations?")
_G_NORM = (
    r"‖ (?:g|nabla|partial)",
    r"gradient (?:norms?|magnitudes?)",
    r"norms? of the (?:gradient|credit)s?",
    r"vanish(?:es|ed|ing)?",
)
_GROWTH = (r"growth", r"ratios?", r"per block", r"blow ?up", r"explod\w*")
_STABILITY = (r"stability", r"stable", r"direction stability")
_FIRE = (r"fires?", r"fired", r"firing", r"diagnostics?", r"trustworthy", r"degenerate")
_FIRST_FIRE = (r"fires?", r"fired", r"firing", r"first")

#: metric name -> the words a paper uses for it
METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "test_acc": (r"accurac(?:y|ies)", r"acc\.?", r"top ?1", r"errors?", r"error rates?"),
    "train_loss": (r"loss(?:es)?", r"cross ?entropy", r"ce"),
    "loss_decrease": (r"loss(?:es)?", r"decrease", r"cross ?entropy"),
    "h_norm": _H_NORM,
    "h_norm_layers": _H_NORM,
    "g_norm": _G_NORM,
    "g_norm_layers": _G_NORM,
    "g_norm_min": _G_NORM,
    "deep_cos": _COS,
    "gamma": _COS,
    "cos_layers": _COS,
    "null_deep_cos": (*_COS, r"null", r"fresh"),
    "null_deep_cos_std": (*_COS, r"null", r"fresh"),
    "null_gamma": (*_COS, r"null", r"fresh"),
    "null_gamma_std": (*_COS, r"null", r"fresh"),
    "null_cos_layers": (*_COS, r"null", r"fresh"),
    "null_cos_std_layers": (*_COS, r"null", r"fresh"),
    "growth": _GROWTH,
    "growth_max": _GROWTH,
    "rho": (r"rho", r"correlations?", r"pearson"),
    "rho_layers": (r"rho", r"correlations?", r"pearson"),
    "nudge": (r"nudges?", r"loss change", r"step against"),
    "nudge_layers": (r"nudges?", r"loss change", r"step against"),
    "sparsity": (r"sparsity", r"sparse", r"fraction of (?:the )?(?:evaluation )?samples"),
    "stability": _STABILITY,
    "stability_max": _STABILITY,
    "stability_layers": _STABILITY,
    "fired_a": _FIRE,
    "fired_b": _FIRE,
    "fired_c": _FIRE,
    "trustworthy": _FIRE,
    "ref_degenerate": _FIRE,
    "first_fire_a": _FIRST_FIRE,
    "first_fire_b": _FIRST_FIRE,
    "first_fire_c": _FIRST_FIRE,
    "null_draws": (r"draws?",),
}

_SEED_COUNT = (r"seeds", r"runs", r"trials", r"repetitions", r"restarts", r"n =")

#: configuration key (the full dotted key, else its last part) -> the words that name it
CONFIG_WORDS: dict[str, tuple[str, ...]] = {
    "seeds (count)": _SEED_COUNT,
    "seed": (r"seeds?",),
    "train.epochs": (r"epochs", r"epoch(?= (?:budget|run|schedule))"),
    "train.batch_size": (r"batch(?:es)?", r"batch size", r"mini ?batch(?:es)?"),
    "train.lr": (r"learning rates?", r"lr", r"step sizes?", r"eta"),
    "train.weight_decay": (r"weight decay", r"wd", r"decay"),
    "train.grad_clip": (r"clip(?:ping|ped)?",),
    "model.d": (r"d", r"(?:student )?width", r"hidden (?:size|dim\w*|units?)", r"dim(?:ension)?s?"),
    "model.blocks": (r"blocks?", r"depth", r"layers?", r"l(?= ?(?:=|in\b|∈))"),
    "model.alpha": (r"alpha",),
    "model.hidden": (r"hidden", r"(?:student )?width"),
    "data.width": (r"teacher(?:'s)?(?: has| of)? width", r"width of the teacher"),
    "data.depth": (r"teacher(?:'s)?(?: has| of)? depth", r"depth of the teacher"),
    "data.in_dim": (r"inputs?", r"in dim", r"dim(?:ension)?s?"),
    "data.classes": (r"class(?:es)?", r"labels?"),
    "data.n_train": (r"samples", r"examples", r"train(?:ing)? set", r"n train"),
    "data.n_test": (r"samples", r"examples", r"test set", r"n test"),
    "data.alpha": (r"alpha",),
    "data.seed": (r"(?:data )?seeds?",),
    "method.penalty": (r"penalty", r"lambda", r"regulari[sz]\w*"),
    "method.beta": (r"beta", r"nudg\w*"),
    "method.steps": (r"steps", r"relaxation", r"iterations"),
    "method.step_size": (r"step sizes?",),
    "method.hidden": (r"hidden", r"width", r"feedback net\w*"),
    "method.depth": (r"depth", r"layers", r"feedback net\w*"),
    "method.tau": (r"tau", r"temperature"),
    "method.ema": (r"ema", r"decay", r"moving average"),
    "measure.eval_batch": (r"eval(?:uation)? batch", r"evaluat\w*"),
    "measure.nudge_eta": (r"eta", r"nudg\w*"),
    "measure.rho_dirs": (r"directions", r"dirs"),
    "measure.rho_eps": (r"epsilon", r"eps", r"perturbation"),
    "measure.rho_batch": (r"(?:rho|correlation) batch",),
    "measure.null_draws": (r"draws",),
    "measure.sparsity_tau": (r"tau", r"threshold"),
    "measure.stability_batch": (r"stability batch",),
    "measure.protocol.growth": (r"growth", r"threshold"),
    "measure.protocol.g_floor": (r"floor", r"threshold"),
    "measure.protocol.stability": (r"stability", r"threshold"),
    "measure.protocol.margin_pp": (r"margin", r"pp", r"percentage points?"),
}

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "Γ": "gamma", "δ": "delta", "ε": "epsilon",
    "η": "eta", "λ": "lambda", "ρ": "rho", "τ": "tau", "σ": "sigma", "∇": "nabla", "∂": "partial",
}  # fmt: skip
_NORM_BARS = re.compile(r"\\(?:\||[lr]?Vert(?![A-Za-z])|[lr]vert(?![A-Za-z]))|‖|\|")
_SPACING = re.compile(r"\\[,;:! ]|\\(?:quad|qquad|enspace|thinspace)(?![A-Za-z])")
_MARKUP = re.compile(
    r"\\(?:begin|end)\s*\{[^{}]*\}|"  # environment names are not words (align, equation)
    r"\\(?:multicolumn|multirow)\s*\{[^{}]*\}\s*(?:\{[^{}]*\}\s*)?|"
    r"\\(?:midrule|toprule|bottomrule|hline|cmidrule(?:\([^)]*\))?(?:\{[^{}]*\})?)"
)


def plain(latex: str) -> str:
    """LaTeX as lowercase words for the word lists (see the module docstring)."""
    s = _MARKUP.sub(" ", latex)
    s = _SPACING.sub(" ", s)
    s = _NORM_BARS.sub(" ‖ ", s)
    s = s.replace("\\%", " % ").replace("%", " % ")
    for g, name in _GREEK.items():
        s = s.replace(g, f" {name} ")
    s = re.sub(r"\\([A-Za-z]+)", r" \1 ", s)
    s = re.sub(r"[{}$~^_\\&]", " ", s)
    s = re.sub(r"\s*-\s*", " ", s)  # per-block, 30-epoch: hyphens read as spaces
    return " ".join(s.lower().split())


def inflect(word: str) -> str:
    """`word` with its plural forms: an entry ending in a plain letter also matches with -s or
    -es, one ending in -y also with -ies ("perturbation" names "perturbations", "accuracy"
    names "accuracies")."""
    if len(word) < 2 or not word[-1].isalpha() or word[-2] == "\\":
        return word
    if word[-1] == "y" and word[-2].isalpha():
        return word[:-1] + "(?:y|ies)"
    return word + "(?:e?s)?"


def _compile(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(w.replace(" ", r"\s*") if w.startswith("‖") else inflect(w) for w in words)
    return re.compile(r"(?<![\w])(?:" + alts + r")(?![\w])")


@cache
def metric_pattern(metric: str) -> re.Pattern[str]:
    """The words naming `metric` (its own name when the list does not know it)."""
    return _compile(_words_of(metric))


@cache
def any_metric_pattern(metrics: frozenset[str]) -> re.Pattern[str]:
    """One pattern for the words of all `metrics` (each word once, longest first, no leading
    look-behind so that the regex engine can skip ahead by first character): where metric
    words are, in one pass. Callers drop matches that start inside a word."""
    words: set[str] = set()
    for m in metrics:
        words.update(_words_of(m))
    alts = [w.replace(" ", r"\s*") if w.startswith("‖") else inflect(w) for w in words]
    return re.compile("(?:" + "|".join(sorted(alts, key=lambda w: (-len(w), w))) + r")(?![\w])")


def _words_of(metric: str) -> tuple[str, ...]:
    return METRIC_WORDS.get(metric) or (re.escape(metric).replace("_", "[ _]?"),)


def metric_words_at(text: str, metrics: frozenset[str]) -> list[tuple[int, set[str]]]:
    """Each metric word in `text` (as a whole word): (its start, the metrics it names)."""
    out = []
    for m in any_metric_pattern(metrics).finditer(text):
        at = m.start()
        if at and (text[at - 1].isalnum() or text[at - 1] == "_"):
            continue
        named = {x for x in metrics if metric_pattern(x).match(text, at)}
        if named:
            out.append((at, named))
    return out


@cache
def config_pattern(key: str) -> re.Pattern[str]:
    """The words naming the configuration key `key` (`model.d`, `seeds (count)`)."""
    words = CONFIG_WORDS.get(key) or CONFIG_WORDS.get(key.rsplit(".", 1)[-1])
    if words is None:
        last = key.rsplit(".", 1)[-1]
        words = (re.escape(last).replace("_", "[ _]?"),)
    return _compile(words)
