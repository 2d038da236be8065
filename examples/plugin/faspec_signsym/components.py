"""The declarations faspec reads in every process: names, versions, options (no torch)."""

from faspec.plugin import COMMON_OPTIONS, ConfigError, Option, dataset, method, metric


def _check_signsym(cfg):
    if cfg["model"]["arch"] != "resmlp":
        raise ConfigError("method.name", "signsym reads the weights of resmlp blocks only")


SIGNSYM = method(
    "signsym",
    "faspec_signsym.method:SignSym",
    version=1,
    options={**COMMON_OPTIONS, "scale": Option(float, 1.0, "feedback scale", minimum=0.0)},
    doc="Sign-symmetric feedback: each block's backward pass uses the signs of its weights",
    check=_check_signsym,
)

TWO_MOONS = dataset(
    "two_moons",
    "faspec_signsym.data:two_moons",
    version=1,
    describe=lambda **_: {"in_dim": 2, "num_classes": 2},
    options={
        "n_train": Option(int, 1024, "training samples", minimum=1),
        "n_test": Option(int, 512, "test samples", minimum=1),
        "noise": Option(float, 0.1, "std of the Gaussian noise on each point", minimum=0.0),
        "seed": Option(int, 0, "data seed", minimum=0),
    },
    doc="Two interleaved half circles in the plane, two classes",
)

SIGN_AGREE = metric(
    "sign_agree",
    "faspec_signsym.metric:sign_agree",
    version=1,
    doc="fraction of credit entries whose sign matches the BP gradient's, layers 1..L",
    form="scalar",
    scale="linear",
    close=0.02,
    much=0.1,
    better="higher",
)
