"""The records a layer table is made of: convolutions, linear layers, and the model that lists them.

Shapes are per sample; the batch is applied when a table is written out
(``igoc.zoo.render``), so one table serves every batch size. Only layers whose
forward pass and both gradients are a GEMM or a convolution appear in a table:
activations, normalisation, pooling, residual additions, concatenation,
upsampling, embedding lookups and attention's activation-by-activation
products are not modelled. The pooling helpers below exist so the tables can
carry spatial sizes through such layers.
"""

from __future__ import annotations

from dataclasses import dataclass


def conv_out_size(in_size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis (PyTorch's formula)."""
    return (in_size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_out_size(
    in_size: int, kernel: int, stride: int, padding: int = 0, ceil_mode: bool = False
) -> int:
    """Output length of a max or average pool along one axis (PyTorch's formula)."""
    span = in_size + 2 * padding - kernel
    steps = -(-span // stride) if ceil_mode else span // stride
    out = steps + 1
    if ceil_mode and (out - 1) * stride >= in_size + padding:
        out -= 1  # PyTorch drops a last window that would start in the padding
    return out


def pooled(
    hw: tuple[int, int], kernel: int, stride: int, padding: int = 0, ceil_mode: bool = False
) -> tuple[int, int]:
    """Height and width after a square max or average pool."""
    return (
        pool_out_size(hw[0], kernel, stride, padding, ceil_mode),
        pool_out_size(hw[1], kernel, stride, padding, ceil_mode),
    )


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolution: X (N, Cin, H, W) * W (Cout, Cin/groups, R, S) -> Y (N, Cout, OH, OW)."""

    name: str  # the function's symbol in the generated file
    in_channels: int  # Cin
    out_channels: int  # Cout
    in_hw: tuple[int, int]  # input height and width, in elements
    kernel: tuple[int, int]  # R, S
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)  # zero padding on each side
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1  # groups = Cin = Cout is a depthwise convolution
    computes_dx: bool = True  # false when the input is the network's data, not an activation

    def __post_init__(self) -> None:
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{self.name}: channels are not divisible by groups={self.groups}")
        if min(self.out_hw) < 1:
            raise ValueError(f"{self.name}: input {self.in_hw} is too small for the kernel")

    @property
    def out_hw(self) -> tuple[int, int]:
        """Output height and width."""
        return (
            conv_out_size(
                self.in_hw[0], self.kernel[0], self.stride[0], self.padding[0], self.dilation[0]
            ),
            conv_out_size(
                self.in_hw[1], self.kernel[1], self.stride[1], self.padding[1], self.dilation[1]
            ),
        )

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """W's shape: (Cout, Cin/groups, R, S)."""
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def weight_elems(self) -> int:
        """Number of weights (no bias)."""
        cout, cin_per_group, r, s = self.weight_shape
        return cout * cin_per_group * r * s

    def gemm_dims(self, batch: int) -> tuple[int, int, int]:
        """(M, K, N) of one group's GEMM: M = batch*OH*OW, K = Cin/groups*R*S, N = Cout/groups."""
        oh, ow = self.out_hw
        return (
            batch * oh * ow,
            self.in_channels // self.groups * self.kernel[0] * self.kernel[1],
            self.out_channels // self.groups,
        )

    def macs(self, batch: int) -> int:
        """Multiply-accumulates of the forward pass (each gradient costs the same)."""
        m, k, n = self.gemm_dims(batch)
        return m * k * n * self.groups


@dataclass(frozen=True)
class Linear:
    """A fully connected layer Y = X·W with X (M, K), W (K, N); M = batch * rows_per_sample."""

    name: str  # the function's symbol in the generated file
    in_features: int  # K
    out_features: int  # N
    rows_per_sample: int = 1  # tokens of a sequence, regions of an image; 1 for an MLP
    computes_dx: bool = True  # false when the input is the network's data, not an activation

    @property
    def weight_elems(self) -> int:
        """Number of weights (no bias)."""
        return self.in_features * self.out_features

    def gemm_dims(self, batch: int) -> tuple[int, int, int]:
        """(M, K, N) of the forward GEMM."""
        return (batch * self.rows_per_sample, self.in_features, self.out_features)

    def macs(self, batch: int) -> int:
        """Multiply-accumulates of the forward pass (each gradient costs the same)."""
        m, k, n = self.gemm_dims(batch)
        return m * k * n


Layer = Conv2d | Linear


def attention(name: str, width: int, inner: int, rows: int, kv_rows: int = 0) -> list[Linear]:
    """The projections of one multi-head attention: query, key, value (of ``kv_rows`` rows
    when they read another sequence, as cross-attention does) and output."""
    kv_rows = kv_rows or rows
    return [
        Linear(f"{name}_q", width, inner, rows),
        Linear(f"{name}_k", width, inner, kv_rows),
        Linear(f"{name}_v", width, inner, kv_rows),
        Linear(f"{name}_out", inner, width, rows),
    ]


def feed_forward(name: str, width: int, hidden: int, rows: int) -> list[Linear]:
    """A transformer's feed-forward block: into ``hidden`` features and back."""
    return [Linear(f"{name}_in", width, hidden, rows), Linear(f"{name}_out", hidden, width, rows)]


@dataclass(frozen=True)
class Model:
    """One network's layer table and what a reader needs to trust it."""

    name: str  # file stem in samples/models, e.g. "resnet50"
    title: str  # e.g. "ResNet-50"
    input_desc: str  # input size or sequence lengths, and why those
    source: tuple[str, ...]  # where the table comes from, and every deviation from it
    layers: tuple[Layer, ...]
    notes: tuple[str, ...] = ()  # model-specific remarks on what is and is not listed

    def __post_init__(self) -> None:
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: layer names are not unique")

    @property
    def weight_elems(self) -> int:
        """Weights of all listed layers (biases and normalisation parameters not counted)."""
        return sum(layer.weight_elems for layer in self.layers)

    def macs(self, batch: int) -> int:
        """Forward multiply-accumulates of all listed layers."""
        return sum(layer.macs(batch) for layer in self.layers)

    def layer(self, name: str) -> Layer:
        """The layer of that name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def same_padding(kernel: int, dilation: int = 1) -> int:
    """Padding that keeps the size of a stride-1 convolution with an odd kernel."""
    return (kernel - 1) // 2 * dilation


def conv(
    name: str,
    in_channels: int,
    out_channels: int,
    in_hw: tuple[int, int],
    kernel: int,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    dilation: int = 1,
    computes_dx: bool = True,
) -> Conv2d:
    """A square-kernel convolution; padding defaults to 'same' for odd kernels."""
    pad = same_padding(kernel, dilation) if padding is None else padding
    return Conv2d(
        name=name,
        in_channels=in_channels,
        out_channels=out_channels,
        in_hw=in_hw,
        kernel=(kernel, kernel),
        stride=(stride, stride),
        padding=(pad, pad),
        dilation=(dilation, dilation),
        groups=groups,
        computes_dx=computes_dx,
    )
