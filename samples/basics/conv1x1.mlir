// The backward pass of a 1x1 convolution (a pointwise layer, as in ResNet's bottlenecks):
// with a 1x1 kernel, im2col is the identity and the layer is a plain GEMM with
// M = N·H·W = 4·8·8 = 256, K = Cin = 32 and N = Cout = 64.
func.func @conv1x1(%x: tensor<4x32x8x8xf16>, %w: tensor<64x32x1x1xf16>,
                   %dy: tensor<4x64x8x8xf16>)
    -> (tensor<4x32x8x8xf16>, tensor<64x32x1x1xf16>) {
  %dx = grad.conv2d_dx %dy, %w
      : (tensor<4x64x8x8xf16>, tensor<64x32x1x1xf16>) -> tensor<4x32x8x8xf16>
  %dw = grad.conv2d_dw %x, %dy
      : (tensor<4x32x8x8xf16>, tensor<4x64x8x8xf16>) -> tensor<64x32x1x1xf16>
  func.return %dx, %dw : tensor<4x32x8x8xf16>, tensor<64x32x1x1xf16>
}
