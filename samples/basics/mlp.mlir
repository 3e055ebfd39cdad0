// The backward pass of a three-layer perceptron 256 -> 128 -> 64 -> 32 on a batch of 4
// (activation functions left out: the grad dialect models the GEMMs). The saved
// activations %x, %h1, %h2 and the weights come from the forward pass, %dy3 from the
// loss. Each layer's dX is the dY of the layer below; the first layer computes no dX,
// because nothing below it needs one.
func.func @mlp(%x: tensor<4x256xf16>, %h1: tensor<4x128xf16>, %h2: tensor<4x64xf16>,
               %w1: tensor<256x128xf16>, %w2: tensor<128x64xf16>, %w3: tensor<64x32xf16>,
               %dy3: tensor<4x32xf16>)
    -> (tensor<256x128xf16>, tensor<128x64xf16>, tensor<64x32xf16>) {
  // Layer 3: 64 -> 32.
  %dw3 = grad.matmul_dw %h2, %dy3 : (tensor<4x64xf16>, tensor<4x32xf16>) -> tensor<64x32xf16>
  %dy2 = grad.matmul_dx %dy3, %w3 : (tensor<4x32xf16>, tensor<64x32xf16>) -> tensor<4x64xf16>
  // Layer 2: 128 -> 64.
  %dw2 = grad.matmul_dw %h1, %dy2 : (tensor<4x128xf16>, tensor<4x64xf16>) -> tensor<128x64xf16>
  %dy1 = grad.matmul_dx %dy2, %w2 : (tensor<4x64xf16>, tensor<128x64xf16>) -> tensor<4x128xf16>
  // Layer 1: 256 -> 128, weight gradient only.
  %dw1 = grad.matmul_dw %x, %dy1 : (tensor<4x256xf16>, tensor<4x128xf16>) -> tensor<256x128xf16>
  func.return %dw1, %dw2, %dw3 : tensor<256x128xf16>, tensor<128x64xf16>, tensor<64x32xf16>
}
