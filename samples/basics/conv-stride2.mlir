// The backward pass of a strided 3x3 convolution (stride 2, padding 1), which halves
// a 16x16 feature map to 8x8. With stride 2, inputs of 15x15 and 16x16 give the same
// output size, so dX's result type says which one the layer had; the verifier checks
// that it is one that produces dY's size.
func.func @conv_stride2(%x: tensor<2x32x16x16xf16>, %w: tensor<64x32x3x3xf16>,
                        %dy: tensor<2x64x8x8xf16>)
    -> (tensor<2x32x16x16xf16>, tensor<64x32x3x3xf16>) {
  %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x64x8x8xf16>, tensor<64x32x3x3xf16>) -> tensor<2x32x16x16xf16>
  %dw = grad.conv2d_dw %x, %dy {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x32x16x16xf16>, tensor<2x64x8x8xf16>) -> tensor<64x32x3x3xf16>
  func.return %dx, %dw : tensor<2x32x16x16xf16>, tensor<64x32x3x3xf16>
}
