"""The built-in components, declared without torch: names, versions, options, traits, checks.

Every built-in method, architecture and dataset is declared here with a lazy factory
("module:attribute", imported on first call; `faspec.registry.LazyFactory`), so that spec
validation, planning and `faspec methods` know every component and its options without importing
torch. The classes themselves live in `faspec.train.methods`, `faspec.train.models` and
`faspec.train.data`; they read their options from here (`COMMON_OPTIONS`, ...), so an option is
defined once. The entry-point plug-ins are loaded by `faspec.config` once it is complete, so a
plug-in may import faspec.config or this module without a circular import.

A new built-in component: write its class in faspec/train/, then add one `declare(...)` here
(its options as a dict beside it, its `check` and, for a dataset, its `describe` as plain Python).
Third-party components are declared with `faspec.plugin` and named in entry points
(docs/plugins.md).
"""

from __future__ import annotations

import math
from typing import Any

from faspec.registry import (
    ARCHS,
    DATASETS,
    METHODS,
    ConfigError,
    Option,
    declare,
)

# ------------------------------------------------------------------------------------ methods

COMMON_OPTIONS: dict[str, Option] = {
    "penalty": Option(
        float, 0.0, "λ: adds λ·mean_batch‖f_l‖² per block (BP: to the global loss)", minimum=0.0
    ),
    "targets": Option(
        str,
        "true",
        "'random': fresh uniform labels every minibatch for every "
        "training signal (test labels untouched)",
        choices=("true", "random"),
    ),
}

BRIDGE_ACTS = ("gelu", "relu", "tanh", "silu")  # faspec.train.methods.bridges.ACTS


def bridge_options(warmup: float) -> dict[str, Option]:
    """Options shared by SB and CB; `warmup` is the DFA warm-up fraction's default."""
    return {
        **COMMON_OPTIONS,
        "condition": Option(
            str,
            "error",
            "conditioning code s: 'error' = e_T = softmax − onehot; 'delta' = δ_L = ∂CE/∂h_L",
            choices=("error", "delta"),
        ),
        "hidden": Option(int, 256, "feedback net width [G]", minimum=1),
        "depth": Option(int, 2, "hidden layers of the feedback net [G]", minimum=1),
        "act": Option(
            str, "gelu", "feedback net activation [G; smooth: ∇V is used]", choices=BRIDGE_ACTS
        ),
        "normalize": Option(bool, True, "credit â = a/(RMS_feature(a) + 1e-6) [N]"),
        "warmup": Option(
            float,
            warmup,
            "fraction of epochs in which blocks train on DFA credit (epoch e is warm-up iff "
            "e−1 < warmup·epochs)",
            minimum=0.0,
        ),
    }


CB_OPTIONS: dict[str, Option] = {
    **bridge_options(0.2),
    "tgw": Option(
        float, 1.0, "weight of terminal gradient matching ‖∇V(h_L) − δ_L‖² [N]", minimum=0.0
    ),
    "value_weight": Option(
        float, 1.0, "weight of the terminal value loss V(h_L) ≈ CE [G]", minimum=0.0
    ),
    "consistency": Option(float, 1.0, "weight of the bridge consistency loss [G]", minimum=0.0),
    "ema": Option(float, 0.99, "EMA decay of the target copy V̄ [G]", minimum=0.0),
    "noise": Option(
        float, 0.1, "noise σ on h_{l+1}, relative to its per-sample RMS [G]", minimum=0.0
    ),
    "noise_samples": Option(int, 4, "noise draws K of the soft-min [G]", minimum=1),
    "tau": Option(float, 0.1, "soft-min temperature τ [G]", minimum=1e-12),
}

EP_SUPPORTED_ARCHS = ("resmlp", "student", "cnn")  # where EP's energy is implemented

EP_OPTIONS: dict[str, Option] = {
    **COMMON_OPTIONS,
    "beta": Option(
        float, 0.1, "nudge strength β (measured default, benchmarks/ep_defaults.py)", minimum=1e-12
    ),
    "free_steps": Option(int, 20, "cap on the free phase's relaxation steps", minimum=1),
    "nudged_steps": Option(int, 10, "cap on the nudged phases' relaxation steps", minimum=1),
    "step_size": Option(
        float,
        0.5,
        "largest relaxation step α: s ← s − α∂E/∂s, halved per sample when E would not fall",
        minimum=1e-12,
    ),
    "self_weight": Option(
        float, 2.0, "κ, the weight of ½‖s_n‖² (>= 2: the skip chain is convex)", minimum=1e-12
    ),
    "nudge": Option(
        str,
        "centred",
        "'centred': ±β, both from s* (O(β²) bias); 'one_sided': +β only (O(β) bias, half the cost)",
        choices=("one_sided", "centred"),
    ),
    "start": Option(
        str,
        "feedforward",
        "where the free phase starts: the feedforward pass or zeros",
        choices=("feedforward", "zeros"),
    ),
    "predict": Option(
        str,
        "equilibrium",
        "logits read from the free equilibrium s*_L or from the feedforward pass",
        choices=("equilibrium", "feedforward"),
    ),
    "smooth": Option(
        str,
        "softplus",
        "'softplus': inside the energy every ReLU is log(1+e^{s·z})/s (C², so the EP theorem "
        "holds); 'none': the network's own activation (refused where it is ReLU)",
        choices=("softplus", "none"),
    ),
    "sharpness": Option(float, 10.0, "s of the softplus surrogate (ReLU as s → ∞)", minimum=1e-12),
    "tol": Option(
        float,
        1e-3,
        "a phase stops once every sample's ‖∂E/∂s‖/‖κs‖ < tol (the steps are then caps)",
        minimum=0.0,
    ),
    "nudged_tol": Option(
        float,
        1e-2,
        "the nudged phases stop once each sample's residual < nudged_tol × its residual at "
        "their start (relative to the nudge, which is O(β))",
        minimum=0.0,
    ),
    "solver": Option(
        str,
        "lbfgs",
        "how the phases minimise E (same energy, same equilibria): 'lbfgs' per-sample L-BFGS "
        "from the chain part's exact inverse; 'chain' gradient steps preconditioned by that "
        "inverse; 'gd' plain gradient steps (each with per-sample backtracking)",
        choices=("lbfgs", "chain", "gd"),
    ),
    "memory": Option(int, 8, "L-BFGS history length (step/gradient-change pairs)", minimum=1),
}


def _check_ep(cfg: dict[str, Any]) -> None:
    arch = cfg["model"]["arch"]
    if arch not in EP_SUPPORTED_ARCHS:
        raise ConfigError(
            "method.name",
            f"ep is implemented for {', '.join(EP_SUPPORTED_ARCHS)}, not for architecture {arch!r}",
            "use pc (predictive coding) there, or see docs/methods.md (EP)",
        )
    has_relu = arch == "cnn" or cfg["model"].get("act") == "relu"
    if has_relu and cfg["method"].get("smooth") == "none":
        where = "model.act" if arch != "cnn" else "method.smooth"
        raise ConfigError(
            where,
            "ep with smooth: none on ReLU: the energy's minima sit on the kinks and the update "
            "does not estimate a gradient",
            "use method.smooth: softplus (the default), or a smooth model.act (tanh, gelu, phi)",
        )


PC_OPTIONS: dict[str, Option] = {
    **COMMON_OPTIONS,
    "beta": Option(float, 0.5, "nudge strength β (notes' synthetic default 0.5)", minimum=1e-12),
    "steps": Option(int, 20, "relaxation steps T of the nudged phase (notes: 20)", minimum=1),
    "step_size": Option(
        float, 0.2, "relaxation step α: h ← h − α∇_h E [G: 0.1–0.5]", minimum=1e-12
    ),
    "credit": Option(
        str,
        "state",
        "'state': −(h^β − h^free)/β (the notes); 'error': −ε/β, the nudged prediction error "
        "(→ BP gradient as β → 0)",
        choices=("state", "error"),
    ),
    "nudge": Option(
        str,
        "one_sided",
        "'one_sided': +β; 'centred': ±β, a = −(h^{+β} − h^{−β})/(2β) (less bias, 2× cost)",
        choices=("one_sided", "centred"),
    ),
    "clamp_h0": Option(
        bool,
        False,
        "clamp h_0 = embed(x) during relaxation [G says clamped; then a_0 = 0 with "
        "credit 'state']; default: x is clamped, h_0 relaxes under ½‖h_0 − embed(x)‖²",
    ),
}


def _check_bridge(cfg: dict[str, Any]) -> None:
    """Bounds an `Option` cannot state: fractions and decays lie in [0, 1]."""
    m = cfg["method"]
    for key in ("warmup", "ema"):
        if key in m and not 0.0 <= m[key] <= 1.0:
            raise ConfigError(f"method.{key}", f"must lie in [0, 1], got {m[key]!r}")


_M = "faspec.train.methods."
declare(
    METHODS,
    "bp",
    _M + "bp:BP",
    version=1,
    options=COMMON_OPTIONS,
    doc="Backprop: end-to-end cross-entropy",
    packable=True,
)
declare(
    METHODS,
    "frozen",
    _M + "bp:Frozen",
    version=1,
    options=COMMON_OPTIONS,
    doc="Frozen random blocks; embed, out_ln and head trained by BP",
    packable=True,
)
declare(
    METHODS,
    "fa",
    _M + "fa:FA",
    version=1,
    options=COMMON_OPTIONS,
    doc="Feedback alignment: exact a_L, a_l = B_l a_{l+1}, block-local updates",
    requires=("equal_width",),
    packable=True,
)
declare(
    METHODS,
    "dfa",
    _M + "dfa:DFA",
    version=1,
    options=COMMON_OPTIONS,
    doc="Direct feedback alignment: a_l = B_l e, block-local updates",
    packable=True,
)
declare(
    METHODS,
    "sb",
    _M + "bridges:StateBridge",
    version=1,
    options=bridge_options(0.0),
    doc="State Bridge: learned predictor of h_L, credit J_Pᵀ δ_L (normalized), block-local",
    check=_check_bridge,
)
declare(
    METHODS,
    "cb",
    _M + "bridges:CreditBridge",
    version=1,
    options=CB_OPTIONS,
    doc="Credit Bridge: learned value V, credit ∇_h V (normalized), terminal gradient "
    "matching, DFA warm-up, block-local",
    check=_check_bridge,
)
declare(
    METHODS,
    "ep",
    _M + "ep:EP",
    version=4,
    options=EP_OPTIONS,
    doc="Equilibrium propagation: symmetric-feedback energy, free and nudged phases, "
    "contrastive update (resmlp, student, cnn)",
    check=_check_ep,
)
declare(
    METHODS,
    "pc",
    _M + "pc:PC",
    version=1,
    options=PC_OPTIONS,
    doc="Predictive coding: nudged relaxation of a prediction-error energy from the "
    "feedforward pass, credit −(h^β − h^free)/β, block-local updates (credit 'error' "
    "tends to BP)",
)

# ------------------------------------------------------------------------------ architectures

ACTIVATIONS = ("relu", "tanh", "gelu", "phi")  # faspec.train.models.resmlp


def image_side(in_dim: int, channels: int) -> int | None:
    """S with channels·S² = in_dim, or None when in_dim is not such a square image."""
    if channels <= 0 or in_dim % channels:
        return None
    side = math.isqrt(in_dim // channels)
    return side if side * side * channels == in_dim else None


def _image_check(cfg: dict[str, Any], divisor: int, what: str) -> None:
    """An image arch: in_dim must be channels·S² and S divisible by `divisor` (words: `what`)."""
    model = cfg["model"]
    in_dim = describe_data(cfg["data"])["in_dim"]
    side = image_side(in_dim, model["channels"])
    if side is None:
        raise ConfigError(
            "model.channels",
            f"dataset {cfg['data']['name']!r} has {in_dim} input values, not "
            f"{model['channels']}×S×S",
            "use an image dataset (cifar10, cifar100, cifar_synth) or fix `channels`",
        )
    if side % divisor:
        raise ConfigError("model", f"the image side {side} is not divisible by {what}")


def _check_vit(cfg: dict[str, Any]) -> None:
    model = cfg["model"]
    if model["d"] % model["heads"]:
        raise ConfigError(
            "model.heads", f"d={model['d']} is not divisible by heads={model['heads']}"
        )
    _image_check(cfg, model["patch"], f"the patch {model['patch']}")


def _check_cnn(cfg: dict[str, Any]) -> None:
    _image_check(cfg, 8, "8 (three 2×2 max-pools)")


_A = "faspec.train.models."
declare(
    ARCHS,
    "resmlp",
    _A + "resmlp:build_resmlp",
    version=1,
    options={
        "d": Option(int, 256, "width of the residual stream", minimum=1),
        "blocks": Option(int, 4, "number of residual blocks L", minimum=0),
        "terminal_ln": Option(bool, True, "LayerNorm before the head"),
        "skip": Option(bool, True, "residual connections (False: h_{l+1} = f_l(h_l))"),
        "act": Option(str, "relu", "block activation", choices=ACTIVATIONS),
        "hidden": Option(
            int, None, "hidden width of each block (null: d)", nullable=True, minimum=1
        ),
        "alpha": Option(float, 1.0, "φ_α mixing, used only when act == 'phi'"),
    },
    doc="Residual pre-LN MLP (flattened inputs)",
    traits=("equal_width",),
    packable=True,  # no BatchNorm statistics to update inside vmap
)
declare(
    ARCHS,
    "student",
    _A + "student:build_student",
    version=1,
    options={
        "d": Option(int, 128, "width of the residual stream", minimum=1),
        "blocks": Option(int, 4, "number of residual blocks L (paper: 2, 4, 8, 12)", minimum=0),
        "alpha": Option(
            float, 1.0, "φ_α(z) = (1−α)z + α·tanh(z); set it equal to the ladder's alpha"
        ),
        "hidden": Option(
            int, None, "hidden width of each block (null: d)", nullable=True, minimum=1
        ),
        "skip": Option(bool, True, "residual connections (False: h_{l+1} = f_l(h_l))"),
    },
    doc="StudentNet: pre-LN φ_α residual MLP, no terminal LN (the ladder's student)",
    traits=("equal_width",),
)
declare(
    ARCHS,
    "vit",
    _A + "vit:build_vit",
    version=1,
    options={
        "d": Option(int, 128, "token width", minimum=1),
        "blocks": Option(int, 4, "number of pre-LN transformer blocks L", minimum=0),
        "patch": Option(int, 4, "patch side [G]; must divide the image side", minimum=1),
        "heads": Option(int, 4, "attention heads [G]; must divide d", minimum=1),
        "mlp": Option(int, 4, "MLP hidden width as a multiple of d [G]", minimum=1),
        "channels": Option(int, 3, "input channels; the side is inferred from in_dim", minimum=1),
        "terminal_ln": Option(bool, True, "LayerNorm on the cls token before the head"),
    },
    doc="ViT-Mini: patch tokens + cls, pre-LN blocks, terminal LN, head on cls (images)",
    requires=("image",),
    check=_check_vit,
)
declare(
    ARCHS,
    "cnn",
    _A + "cnn:build_cnn",
    version=1,
    options={
        "width": Option(int, 32, "channels of stage 1 (stages 2, 3: 2×, 4×) [G]", minimum=1),
        "fc": Option(int, 256, "width of the fully connected layer [G]", minimum=1),
        "channels": Option(int, 3, "input channels; the side is inferred from in_dim", minimum=1),
    },
    doc="SmallCNN: 3 conv+BN stages, one FC layer, head, no terminal LN (images)",
    requires=("image",),
    check=_check_cnn,
)

# ----------------------------------------------------------------------------------- datasets


def dataset_options(data_cfg: dict[str, Any]) -> dict[str, Any]:
    """The factory keyword arguments of a normalized `data` section."""
    comp = DATASETS[data_cfg["name"]]
    return {k: data_cfg[k] for k in comp.options}


def describe_data(data_cfg: dict[str, Any]) -> dict[str, int]:
    """in_dim and num_classes of a normalized `data` section, without loading any data.

    A plug-in dataset that declares no `describe` cannot be described without loading it (the
    trainer's `faspec.train.data.describe` does that); here it is a ConfigError, because only
    the checks of image architectures ask, and they must not load data to validate a spec."""
    comp = DATASETS[data_cfg["name"]]
    if comp.describe is None:
        raise ConfigError(
            "data.name",
            f"dataset {comp.name!r} declares no `describe`, so its shape is unknown before loading",
            "give the dataset a describe(**options) -> {'in_dim', 'num_classes'}",
        )
    return comp.describe(**dataset_options(data_cfg))


def _describe_vector(in_dim: int, classes: int, **_: Any) -> dict[str, int]:
    return {"in_dim": in_dim, "num_classes": classes}


def _describe_cifar_synth(classes: int, **_: Any) -> dict[str, int]:
    return {"in_dim": 3 * 32 * 32, "num_classes": classes}


def _check_cifar_synth(cfg: dict[str, Any]) -> None:
    if 32 % cfg["data"]["grid"]:
        raise ConfigError("data.grid", f"{cfg['data']['grid']} does not divide the image side 32")


def _cifar_options(n: str) -> dict[str, Option]:
    return {
        "data_dir": Option(
            str,
            None,
            "directory holding the torchvision folder (null: "
            "$FASPEC_DATA_DIR or ~/.cache/faspec/data)",
            nullable=True,
            in_hash=False,
        ),
        "download": Option(bool, False, f"download {n} if missing (needs network)", in_hash=False),
        "n_train": Option(
            int, None, "use the first n training images (null: all)", nullable=True, minimum=1
        ),
        "n_test": Option(
            int, None, "use the first n test images (null: all)", nullable=True, minimum=1
        ),
    }


_D = "faspec.train.data:"
# the embedded teacher task and its class-balanced variant draw the same teacher and samples
_TEACHER_OPTIONS = {
    "in_dim": Option(int, 16, "input dimension; x ~ N(0, I)", minimum=1),
    "hidden": Option(int, 32, "teacher hidden ReLU units", minimum=1),
    "classes": Option(int, 10, "number of classes (argmax of the teacher outputs)", minimum=2),
    "n_train": Option(int, 16384, "training samples", minimum=1),
    "n_test": Option(int, 2048, "test samples", minimum=1),
    "seed": Option(int, 0, "data seed: fixes the teacher and the samples", minimum=0),
}
declare(
    DATASETS,
    "teacher",
    _D + "teacher",
    version=1,
    options=_TEACHER_OPTIONS,
    doc="Embedded task (docs/paper.md): one-hidden-layer ReLU teacher, labels = argmax",
    describe=_describe_vector,
)
declare(
    DATASETS,
    "teacher_balanced",
    _D + "teacher_balanced",
    version=1,
    options={
        **_TEACHER_OPTIONS,
        "classes": Option(int, 10, "number of classes (balanced argmax of the outputs)", minimum=2),
    },
    doc="Embedded task with balanced classes: the teacher task, argmax after per-class offsets",
    describe=_describe_vector,
)
declare(
    DATASETS,
    "ladder",
    _D + "ladder",
    version=1,
    options={
        "alpha": Option(float, 1.0, "φ_α(z) = (1−α)z + α·tanh(z) in the teacher"),
        "depth": Option(int, 4, "teacher residual blocks", minimum=0),
        "in_dim": Option(int, 32, "input dimension; x ~ N(0, I)", minimum=1),
        "width": Option(int, 128, "teacher width d", minimum=1),
        "classes": Option(int, 10, "number of classes", minimum=2),
        "n_train": Option(int, 8192, "training samples", minimum=1),
        "n_test": Option(int, 2048, "test samples", minimum=1),
        "seed": Option(int, 0, "data seed: fixes the teacher and the samples", minimum=0),
    },
    doc="StudentNet's φ_α teacher–student task (docs/paper.md)",
    describe=_describe_vector,
)
declare(
    DATASETS,
    "cifar10",
    _D + "cifar10",
    version=1,
    options=_cifar_options("CIFAR-10"),
    doc="CIFAR-10 via torchvision, normalized, flattened to 3072",
    describe=lambda **_: {"in_dim": 3072, "num_classes": 10},
    traits=("image",),
)
declare(
    DATASETS,
    "cifar100",
    _D + "cifar100",
    version=1,
    options=_cifar_options("CIFAR-100"),
    doc="CIFAR-100 (fine labels) via torchvision, normalized, flattened to 3072",
    describe=lambda **_: {"in_dim": 3072, "num_classes": 100},
    traits=("image",),
)
declare(
    DATASETS,
    "cifar_synth",
    _D + "cifar_synth",
    version=1,
    options={
        "classes": Option(int, 10, "number of classes (argmax of the teacher outputs)", minimum=2),
        "grid": Option(
            int, 2, "latent image side: z is 3×grid×grid, upsampled to 32×32", minimum=1
        ),
        "noise": Option(float, 0.5, "std of the pixel noise added to the upsampled z", minimum=0.0),
        "hidden": Option(int, 32, "teacher hidden ReLU units", minimum=1),
        "n_train": Option(int, 4096, "training images", minimum=1),
        "n_test": Option(int, 1024, "test images", minimum=1),
        "seed": Option(int, 0, "data seed: fixes the teacher and the images", minimum=0),
    },
    doc="CIFAR-shaped random images (3×32×32) labelled by a teacher; no download",
    describe=_describe_cifar_synth,
    traits=("image",),
    check=_check_cifar_synth,
)
