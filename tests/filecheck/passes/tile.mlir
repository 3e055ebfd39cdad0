// tile gives every layer op its natural order and tiles: multiples of the array side (4 on
// the tiny target) or the whole dimension, whose step fits twice in the 16 KiB SPM.
// RUN: igoc-opt %s --target %S/Inputs/tiny.toml -p conv-to-gemm,tile | filecheck %s

// CHECK-LABEL: func.func @fc
// A forward matmul walks i, j, then the reduction l innermost. Its tiles grow together on
// the grid 4, 8, 12, 16, 24, 32, 48, ... while one step (X and W tiles in f16, Y's in f32)
// fits in half the SPM: t = 32 needs 2*32*32*2 + 32*32*4 = 8 KiB, exactly half; 48 needs 18.
// CHECK: grad.matmul {{.*}}sched.schedule = #sched.schedule<order = "ijl", tiles = [32x32x32]>
// dX reduces over N (j innermost); dW over M (i innermost).
// CHECK: grad.matmul_dx {{.*}}sched.schedule = #sched.schedule<order = "ilj"
// On one core nothing is split: the schedule names no partition.
// CHECK: grad.matmul_dw {{.*}}sched.schedule = #sched.schedule<order = "jli", tiles = [{{[0-9x]+}}]>
func.func @fc(%x: tensor<64x96xf16>, %w: tensor<96x48xf16>, %dy: tensor<64x48xf16>)
    -> (tensor<64x48xf16>, tensor<64x96xf16>, tensor<96x48xf16>) {
  %y = grad.matmul %x, %w : (tensor<64x96xf16>, tensor<96x48xf16>) -> tensor<64x48xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<64x48xf16>, tensor<96x48xf16>) -> tensor<64x96xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<64x96xf16>, tensor<64x48xf16>) -> tensor<96x48xf16>
  func.return %y, %dx, %dw : tensor<64x48xf16>, tensor<64x96xf16>, tensor<96x48xf16>
}

// A dimension smaller than the array side is tiled whole (here N = 3).
// CHECK-LABEL: func.func @narrow
// CHECK: sched.schedule = #sched.schedule<order = "ijl", tiles = [{{[0-9]+}}x3x{{[0-9]+}}]>
func.func @narrow(%x: tensor<16x8xf16>, %w: tensor<8x3xf16>) -> tensor<16x3xf16> {
  %y = grad.matmul %x, %w : (tensor<16x8xf16>, tensor<8x3xf16>) -> tensor<16x3xf16>
  func.return %y : tensor<16x3xf16>
}
