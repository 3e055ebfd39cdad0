// A 3x3 convolution with padding 1, which keeps the 16x16 feature map its size,
// forward and backward. Layouts are PyTorch's: X (N, C, H, W), W (Cout, Cin, R, S),
// Y and dY (N, Cout, OH, OW).
func.func @conv3x3(%x: tensor<2x16x16x16xf16>, %w: tensor<32x16x3x3xf16>,
                   %dy: tensor<2x32x16x16xf16>)
    -> (tensor<2x32x16x16xf16>, tensor<2x16x16x16xf16>, tensor<32x16x3x3xf16>) {
  %y = grad.conv2d %x, %w {padding = [1, 1]}
      : (tensor<2x16x16x16xf16>, tensor<32x16x3x3xf16>) -> tensor<2x32x16x16xf16>
  %dx = grad.conv2d_dx %dy, %w {padding = [1, 1]}
      : (tensor<2x32x16x16xf16>, tensor<32x16x3x3xf16>) -> tensor<2x16x16x16xf16>
  %dw = grad.conv2d_dw %x, %dy {padding = [1, 1]}
      : (tensor<2x16x16x16xf16>, tensor<2x32x16x16xf16>) -> tensor<32x16x3x3xf16>
  func.return %y, %dx, %dw
      : tensor<2x32x16x16xf16>, tensor<2x16x16x16xf16>, tensor<32x16x3x3xf16>
}
