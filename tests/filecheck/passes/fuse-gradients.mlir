// fuse-gradients makes one grad.interleaved of each layer's dX and dW that read the same dY.
// RUN: igoc-opt %s -p fuse-gradients | filecheck %s

// A layer with both gradients: one fused op, in place of the later one, with both names.
// CHECK-LABEL: func.func @both
// CHECK-NEXT: %[[DX:dx]], %[[DW:dw]] = grad.interleaved %dy, %x, %w {kind = "matmul"}
// CHECK-NEXT: func.return %[[DX]], %[[DW]]
func.func @both(%x: tensor<8x16xf16>, %w: tensor<16x32xf16>, %dy: tensor<8x32xf16>)
    -> (tensor<8x16xf16>, tensor<16x32xf16>) {
  %dx = grad.matmul_dx %dy, %w : (tensor<8x32xf16>, tensor<16x32xf16>) -> tensor<8x16xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<8x16xf16>, tensor<8x32xf16>) -> tensor<16x32xf16>
  func.return %dx, %dw : tensor<8x16xf16>, tensor<16x32xf16>
}

// The first layer of a network computes no dX: its dW stays alone.
// CHECK-LABEL: func.func @first_layer
// CHECK-NEXT: grad.conv2d_dw
// CHECK-NOT: grad.interleaved
func.func @first_layer(%x: tensor<1x3x8x8xf16>, %dy: tensor<1x4x8x8xf16>) -> tensor<4x3x3x3xf16> {
  %dw = grad.conv2d_dw %x, %dy {padding = [1, 1]}
      : (tensor<1x3x8x8xf16>, tensor<1x4x8x8xf16>) -> tensor<4x3x3x3xf16>
  func.return %dw : tensor<4x3x3x3xf16>
}

// Conv gradients fuse when their parameters agree; the fused op keeps them.
// CHECK-LABEL: func.func @conv
// CHECK-NEXT: grad.interleaved %dy, %x, %w {kind = "conv2d", stride = [2, 2], padding = [1, 1]}
func.func @conv(%x: tensor<1x4x8x8xf16>, %w: tensor<6x4x3x3xf16>, %dy: tensor<1x6x4x4xf16>)
    -> (tensor<1x4x8x8xf16>, tensor<6x4x3x3xf16>) {
  %dw = grad.conv2d_dw %x, %dy {stride = [2, 2], padding = [1, 1]}
      : (tensor<1x4x8x8xf16>, tensor<1x6x4x4xf16>) -> tensor<6x4x3x3xf16>
  %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
      : (tensor<1x6x4x4xf16>, tensor<6x4x3x3xf16>) -> tensor<1x4x8x8xf16>
  func.return %dx, %dw : tensor<1x4x8x8xf16>, tensor<6x4x3x3xf16>
}

// Different dY values (two layers' gradients): nothing to share, nothing fused.
// CHECK-LABEL: func.func @other_dy
// CHECK-NEXT: grad.matmul_dx
// CHECK-NEXT: grad.matmul_dw
func.func @other_dy(%x: tensor<8x16xf16>, %w: tensor<16x32xf16>, %dy: tensor<8x32xf16>,
                    %dy2: tensor<8x32xf16>) -> (tensor<8x16xf16>, tensor<16x32xf16>) {
  %dx = grad.matmul_dx %dy, %w : (tensor<8x32xf16>, tensor<16x32xf16>) -> tensor<8x16xf16>
  %dw = grad.matmul_dw %x, %dy2 : (tensor<8x16xf16>, tensor<8x32xf16>) -> tensor<16x32xf16>
  func.return %dx, %dw : tensor<8x16xf16>, tensor<16x32xf16>
}

// Conv gradients with different padding are not one layer's: not fused.
// CHECK-LABEL: func.func @mismatch
// CHECK-NEXT: grad.conv2d_dx
// CHECK-NEXT: grad.conv2d_dw
func.func @mismatch(%x: tensor<1x4x8x8xf16>, %w: tensor<6x4x1x1xf16>, %dy: tensor<1x6x8x8xf16>)
    -> (tensor<1x4x8x8xf16>, tensor<6x4x1x1xf16>) {
  %dx = grad.conv2d_dx %dy, %w : (tensor<1x6x8x8xf16>, tensor<6x4x1x1xf16>) -> tensor<1x4x8x8xf16>
  %dw = grad.conv2d_dw %x, %dy {padding = [0, 0], stride = [1, 1], dilation = [2, 2]}
      : (tensor<1x4x8x8xf16>, tensor<1x6x8x8xf16>) -> tensor<6x4x1x1xf16>
  func.return %dx, %dw : tensor<1x4x8x8xf16>, tensor<6x4x1x1xf16>
}

// A chain of two layers: layer 2's dX is layer 1's dY. Each layer fuses on its own, and
// layer 1's fused op comes after layer 2's, whose dX it reads.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT: %[[DX2:dx2]], %{{.*}} = grad.interleaved %dy2, %h, %w2
// CHECK-NEXT: %{{.*}}, %{{.*}} = grad.interleaved %[[DX2]], %x, %w1
func.func @chain(%x: tensor<8x16xf16>, %w1: tensor<16x16xf16>, %h: tensor<8x16xf16>,
                 %w2: tensor<16x4xf16>, %dy2: tensor<8x4xf16>)
    -> (tensor<8x16xf16>, tensor<16x16xf16>, tensor<16x4xf16>) {
  %dx2 = grad.matmul_dx %dy2, %w2 : (tensor<8x4xf16>, tensor<16x4xf16>) -> tensor<8x16xf16>
  %dw2 = grad.matmul_dw %h, %dy2 : (tensor<8x16xf16>, tensor<8x4xf16>) -> tensor<16x4xf16>
  %dx1 = grad.matmul_dx %dx2, %w1 : (tensor<8x16xf16>, tensor<16x16xf16>) -> tensor<8x16xf16>
  %dw1 = grad.matmul_dw %x, %dx2 : (tensor<8x16xf16>, tensor<8x16xf16>) -> tensor<16x16xf16>
  func.return %dx1, %dw1, %dw2 : tensor<8x16xf16>, tensor<16x16xf16>, tensor<16x4xf16>
}
