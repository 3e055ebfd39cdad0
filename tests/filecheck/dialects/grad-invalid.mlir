// Each part breaks one rule of the grad dialect; the diagnostic names what is wrong.
// RUN: not igoc-opt %s --split-input-file 2>&1 | filecheck %s

// The inner dimensions of X (M x K) and W (K x N) differ.
// CHECK: grad-invalid.mlir:7:3: error: 'grad.matmul' op inner dimension (K) disagrees: X (tensor<4x8xf16>) has K = 8, W (tensor<9x16xf16>) has K = 9
func.func @inner(%x: tensor<4x8xf16>, %w: tensor<9x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<9x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// dX of a matmul has X's shape (M x K); K comes from W.
// CHECK: grad-invalid.mlir:16:3: error: 'grad.matmul_dx' op inner dimension (K) disagrees: W (tensor<32x16xf16>) has K = 32, dX (tensor<8x30xf16>) has K = 30
func.func @dx_shape(%dy: tensor<8x16xf16>, %w: tensor<32x16xf16>) -> tensor<8x30xf16> {
  %dx = grad.matmul_dx %dy, %w : (tensor<8x16xf16>, tensor<32x16xf16>) -> tensor<8x30xf16>
  func.return %dx : tensor<8x30xf16>
}

// -----

// dW has W's shape (K x N); the batch M must agree between X and dY.
// CHECK: grad-invalid.mlir:25:3: error: 'grad.matmul_dw' op rows (M) disagrees: X (tensor<8x32xf16>) has M = 8, dY (tensor<4x16xf16>) has M = 4
func.func @dw_rows(%x: tensor<8x32xf16>, %dy: tensor<4x16xf16>) -> tensor<32x16xf16> {
  %dw = grad.matmul_dw %x, %dy : (tensor<8x32xf16>, tensor<4x16xf16>) -> tensor<32x16xf16>
  func.return %dw : tensor<32x16xf16>
}

// -----

// All tensors of an op share one element type.
// CHECK: grad-invalid.mlir:34:3: error: 'grad.matmul' op element types disagree: X is f16, W is f32
func.func @mixed(%x: tensor<4x8xf16>, %w: tensor<8x16xf32>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x16xf32>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// Only f16, bf16 and f32 elements.
// CHECK: grad-invalid.mlir:43:3: error: 'grad.matmul' op element type i32 of X is not supported; use f16, bf16 or f32
func.func @int(%x: tensor<4x8xi32>, %w: tensor<8x16xi32>) -> tensor<4x16xi32> {
  %y = grad.matmul %x, %w : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  func.return %y : tensor<4x16xi32>
}

// -----

// Matmul operands are matrices.
// CHECK: grad-invalid.mlir:52:3: error: 'grad.matmul' op X must be a rank-2 tensor (M x K), got tensor<2x4x8xf16>
func.func @rank(%x: tensor<2x4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w : (tensor<2x4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// The output size follows from H, R, stride, padding and dilation: (16 + 2 - 3) / 2 + 1 = 8.
// CHECK: grad-invalid.mlir:61:3: error: 'grad.conv2d' op output height (OH) disagrees: X has H = 16; with R = 3, stride 2, padding 1, dilation 1 that gives OH = 8, but Y has OH = 16
func.func @out_size(%x: tensor<2x8x16x16xf16>, %w: tensor<16x8x3x3xf16>) -> tensor<2x16x16x16xf16> {
  %y = grad.conv2d %x, %w {stride = [2, 2], padding = [1, 1]} : (tensor<2x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<2x16x16x16xf16>
  func.return %y : tensor<2x16x16x16xf16>
}

// -----

// dX's result type names H and W; with stride 2 they must give dY's 8x8 (16 does, 18 does not).
// CHECK: grad-invalid.mlir:70:3: error: 'grad.conv2d_dx' op output width (OW) disagrees: dX has W = 18; with S = 3, stride 2, padding 1, dilation 1 that gives OW = 9, but dY has OW = 8
func.func @dx_size(%dy: tensor<2x16x8x8xf16>, %w: tensor<16x8x3x3xf16>) -> tensor<2x8x16x18xf16> {
  %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
      : (tensor<2x16x8x8xf16>, tensor<16x8x3x3xf16>) -> tensor<2x8x16x18xf16>
  func.return %dx : tensor<2x8x16x18xf16>
}

// -----

// Output channels of the weight gradient come from dY.
// CHECK: grad-invalid.mlir:80:3: error: 'grad.conv2d_dw' op output channels (Cout) disagrees: dY (tensor<2x16x8x8xf16>) has Cout = 16, dW (tensor<32x8x3x3xf16>) has Cout = 32
func.func @dw_channels(%x: tensor<2x8x8x8xf16>, %dy: tensor<2x16x8x8xf16>) -> tensor<32x8x3x3xf16> {
  %dw = grad.conv2d_dw %x, %dy {padding = [1, 1]}
      : (tensor<2x8x8x8xf16>, tensor<2x16x8x8xf16>) -> tensor<32x8x3x3xf16>
  func.return %dw : tensor<32x8x3x3xf16>
}

// -----

// With groups = 3, X's 6 channels need a weight of 2 channels per group, not 3.
// CHECK: grad-invalid.mlir:90:3: error: 'grad.conv2d' op input channels (C) disagree: X has C = 6, but W holds 3 input channels per group x 3 group(s) = 9
func.func @groups(%x: tensor<2x6x8x8xf16>, %w: tensor<9x3x3x3xf16>) -> tensor<2x9x8x8xf16> {
  %y = grad.conv2d %x, %w {padding = [1, 1], groups = 3} : (tensor<2x6x8x8xf16>, tensor<9x3x3x3xf16>) -> tensor<2x9x8x8xf16>
  func.return %y : tensor<2x9x8x8xf16>
}

// -----

// Strides are positive.
// CHECK: grad-invalid.mlir:99:3: error: 'grad.conv2d' op stride must be two positive integers [height, width], got [0, 1]
func.func @stride(%x: tensor<2x8x8x8xf16>, %w: tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16> {
  %y = grad.conv2d %x, %w {stride = [0, 1], padding = [1, 1]} : (tensor<2x8x8x8xf16>, tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16>
  func.return %y : tensor<2x8x8x8xf16>
}

// -----

// Padding takes two values, height and width.
// CHECK: grad-invalid.mlir:108:3: error: 'grad.conv2d' op padding must be two non-negative integers [height, width], got [1, 1, 1]
func.func @padding(%x: tensor<2x8x8x8xf16>, %w: tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16> {
  %y = grad.conv2d %x, %w {padding = [1, 1, 1]} : (tensor<2x8x8x8xf16>, tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16>
  func.return %y : tensor<2x8x8x8xf16>
}

// -----

// A property of the wrong kind.
// CHECK: grad-invalid.mlir:117:3: error: 'grad.conv2d' op has a bad value for 'dilation': "2"; expected a value like [1, 1]
func.func @dilation(%x: tensor<2x8x8x8xf16>, %w: tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16> {
  %y = grad.conv2d %x, %w {dilation = "2", padding = [1, 1]} : (tensor<2x8x8x8xf16>, tensor<8x8x3x3xf16>) -> tensor<2x8x8x8xf16>
  func.return %y : tensor<2x8x8x8xf16>
}

// -----

// A 5x5 kernel does not fit a 2x2 map without padding.
// CHECK: grad-invalid.mlir:126:3: error: 'grad.conv2d' op the kernel does not fit: X has H = 2; with R = 5, stride 1, padding 0, dilation 1 the output height would be -2
func.func @kernel(%x: tensor<2x8x2x2xf16>, %w: tensor<8x8x5x5xf16>) -> tensor<2x8x1x1xf16> {
  %y = grad.conv2d %x, %w : (tensor<2x8x2x2xf16>, tensor<8x8x5x5xf16>) -> tensor<2x8x1x1xf16>
  func.return %y : tensor<2x8x1x1xf16>
}

// -----

// The kind of an interleaved op is matmul or conv2d.
// CHECK: grad-invalid.mlir:135:3: error: 'grad.interleaved' op kind must be one of 'matmul', 'conv2d', got 'lstm'
func.func @kind(%dy: tensor<4x16xf16>, %x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "lstm"} : (tensor<4x16xf16>, tensor<4x8xf16>, tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>)
  func.return %dx, %dw : tensor<4x8xf16>, tensor<8x16xf16>
}

// -----

// Conv properties mean nothing to a matmul layer.
// CHECK: grad-invalid.mlir:144:3: error: 'grad.interleaved' op stride, padding, dilation and groups apply only to kind = "conv2d"
func.func @matmul_stride(%dy: tensor<4x16xf16>, %x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul", stride = [2, 2]} : (tensor<4x16xf16>, tensor<4x8xf16>, tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>)
  func.return %dx, %dw : tensor<4x8xf16>, tensor<8x16xf16>
}

// -----

// The interleaved op checks both gradients: dW must have W's shape.
// CHECK: grad-invalid.mlir:153:3: error: 'grad.interleaved' op columns (N) disagrees: dY (tensor<4x16xf16>) has N = 16, dW (tensor<8x12xf16>) has N = 12
func.func @both(%dy: tensor<4x16xf16>, %x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x12xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul"} : (tensor<4x16xf16>, tensor<4x8xf16>, tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x12xf16>)
  func.return %dx, %dw : tensor<4x8xf16>, tensor<8x12xf16>
}

// -----

// A property of the op misspelt: not taken for a discardable attribute.
// CHECK: grad-invalid.mlir:162:28: error: unknown attribute 'strides' for grad.conv2d; did you mean 'stride'? it takes dilation, groups, padding, stride (other attributes need a dotted name such as 'my.note')
func.func @typo(%x: tensor<2x8x8x8xf16>, %w: tensor<8x8x3x3xf16>) -> tensor<2x8x4x4xf16> {
  %y = grad.conv2d %x, %w {strides = [2, 2], padding = [1, 1]} : (tensor<2x8x8x8xf16>, tensor<8x8x3x3xf16>) -> tensor<2x8x4x4xf16>
  func.return %y : tensor<2x8x4x4xf16>
}

// -----

// grad.matmul has two operands.
// CHECK: grad-invalid.mlir:171:8: error: grad.matmul takes 2 operand(s) (x, w), but its signature lists 3
func.func @count(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w, %w : (tensor<4x8xf16>, tensor<8x16xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
