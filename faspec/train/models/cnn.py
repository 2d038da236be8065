"""SmallCNN (docs/paper.md): three conv+BatchNorm stages, one fully connected layer, a head, and
no terminal LayerNorm.

Units in the arch contract. The first stage is `embed` (its output is h_0). The second and third
stages and the FC layer are the blocks, with no skip: `combine(h, f) = f`. That makes L = 3. Each
stage is conv3×3 (no bias; BN's shift replaces it), then BatchNorm, ReLU and a 2×2 max-pool. The
stages have `width`, 2·`width` and 4·`width` channels; the FC layer is Linear followed by ReLU.
The hidden states are the feature maps flattened per sample, so h_l widths differ from layer to
layer (8192, 4096, 2048 and `fc` at the defaults). Methods that need one width (FA) therefore do
not run here.

BatchNorm couples the samples of a training batch. Methods that run extra forward passes on the
same batch must not update the running statistics twice; see `faspec.train.methods.ep`. In
`eval()` mode, which is how the metrics run, each sample is independent again. Widths are not
in the paper [G]; the defaults are 32/64/128 channels and fc 256.
"""

from __future__ import annotations

from torch import Tensor, nn

from faspec.train.models.base import HiddenStateModel
from faspec.train.models.image import image_side


class ConvStage(nn.Module):
    """Flat (N, C·S·S) -> conv3×3 -> BN -> ReLU -> maxpool 2 -> flat (N, C'·S/2·S/2)."""

    def __init__(self, in_shape: tuple[int, int, int], out_channels: int) -> None:
        super().__init__()
        self.in_shape = in_shape
        self.conv = nn.Conv2d(in_shape[0], out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.out_shape = (out_channels, in_shape[1] // 2, in_shape[2] // 2)

    def forward(self, h: Tensor) -> Tensor:
        x = h.reshape(-1, *self.in_shape)
        return self.pool(self.act(self.bn(self.conv(x)))).flatten(1)


class FCBlock(nn.Module):
    """Linear + ReLU: the CNN's one fully connected layer (a block with no skip)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.act = nn.ReLU()

    def forward(self, h: Tensor) -> Tensor:
        return self.act(self.fc(h))


class SmallCNN(HiddenStateModel):
    """SmallCNN under the arch contract of `faspec.train.models` (flattened feature maps)."""

    def __init__(
        self, in_dim: int, num_classes: int, width: int = 32, fc: int = 256, channels: int = 3
    ) -> None:
        super().__init__()
        side = image_side(in_dim, channels)
        if side is None or side % 8:
            raise ValueError(f"SmallCNN: in_dim {in_dim} is not {channels}×S×S with 8 | S")
        s1 = ConvStage((channels, side, side), width)
        s2 = ConvStage(s1.out_shape, 2 * width)
        s3 = ConvStage(s2.out_shape, 4 * width)
        flat = [c * h * w for c, h, w in (s1.out_shape, s2.out_shape, s3.out_shape)]
        self.embed = s1
        self.blocks = nn.ModuleList([s2, s3, FCBlock(flat[-1], fc)])
        self.out_ln: nn.Module = nn.Identity()
        self.head = nn.Linear(fc, num_classes)
        self.widths = [*flat, fc]

    def combine(self, h: Tensor, f: Tensor) -> Tensor:
        return f


def build_cnn(in_dim: int, num_classes: int, **options: object) -> SmallCNN:
    """SmallCNN on flattened images; h_l are flattened feature maps."""
    return SmallCNN(in_dim, num_classes, **options)  # type: ignore[arg-type]
