// One fully connected layer, forward and backward: Y = X·W, dX = dY·Wᵀ, dW = Xᵀ·dY.
// X is a batch of 4 rows of 128 features, W maps them to 64; dY comes from the layer above.
// The three ops are the matmul family of the grad dialect; dX and dW both read dY,
// which is what interleaving them saves.
func.func @linear(%x: tensor<4x128xf16>, %w: tensor<128x64xf16>, %dy: tensor<4x64xf16>)
    -> (tensor<4x64xf16>, tensor<4x128xf16>, tensor<128x64xf16>) {
  %y = grad.matmul %x, %w : (tensor<4x128xf16>, tensor<128x64xf16>) -> tensor<4x64xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<4x64xf16>, tensor<128x64xf16>) -> tensor<4x128xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<4x128xf16>, tensor<4x64xf16>) -> tensor<128x64xf16>
  func.return %y, %dx, %dw : tensor<4x64xf16>, tensor<4x128xf16>, tensor<128x64xf16>
}
