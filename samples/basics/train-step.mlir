// A training step of two convolution layers, forward then backward, chained as in a
// network: layer 2 reads layer 1's output %h, and layer 1's output gradient %dh is
// layer 2's input gradient. Layer 1 (3x3, padding 1) keeps the 16x16 map; layer 2
// (3x3, stride 2, padding 1) halves it. Layer 1 is the first layer: no dX.
func.func @train_step(%x: tensor<2x8x16x16xf16>, %w1: tensor<16x8x3x3xf16>,
                      %w2: tensor<32x16x3x3xf16>, %dy: tensor<2x32x8x8xf16>)
    -> (tensor<2x32x8x8xf16>, tensor<16x8x3x3xf16>, tensor<32x16x3x3xf16>) {
  // Forward.
  %h = grad.conv2d %x, %w1 {padding = [1, 1]}
      : (tensor<2x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<2x16x16x16xf16>
  %y = grad.conv2d %h, %w2 {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x16x16x16xf16>, tensor<32x16x3x3xf16>) -> tensor<2x32x8x8xf16>
  // Backward, layer 2 then layer 1.
  %dh = grad.conv2d_dx %dy, %w2 {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x32x8x8xf16>, tensor<32x16x3x3xf16>) -> tensor<2x16x16x16xf16>
  %dw2 = grad.conv2d_dw %h, %dy {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x16x16x16xf16>, tensor<2x32x8x8xf16>) -> tensor<32x16x3x3xf16>
  %dw1 = grad.conv2d_dw %x, %dh {padding = [1, 1]}
      : (tensor<2x8x16x16xf16>, tensor<2x16x16x16xf16>) -> tensor<16x8x3x3xf16>
  func.return %y, %dw1, %dw2 : tensor<2x32x8x8xf16>, tensor<16x8x3x3xf16>, tensor<32x16x3x3xf16>
}
