// Each part gives a layer op a sched attribute that breaks a rule; the diagnostic says which,
// at the op or at the attribute.
// RUN: not igoc-opt %s --split-input-file 2>&1 | filecheck %s

// A tile size of zero.
// CHECK: sched-invalid.mlir:8:45: error: #sched.schedule: tile sizes must be three integers of at least 1 (MxNxK), got 0x16x8
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [0x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A negative tile size.
// CHECK: sched-invalid.mlir:17:85: error: tile sizes are positive integers, written MxNxK
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [-4x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A tile larger than the GEMM frame (M = 4).
// CHECK: sched-invalid.mlir:26:3: error: 'grad.matmul' op sched.schedule: tile 8x16x8 is larger than the GEMM frame along M (M = 4)
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [8x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// An order that does not exist.
// CHECK: sched-invalid.mlir:35:45: error: #sched.schedule: order 'ikl' is no loop order of one GEMM; orders: ijl, ilj, jil, jli, lij, lji
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ikl", tiles = [4x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// An order of two GEMMs on an op that computes one.
// CHECK: sched-invalid.mlir:44:45: error: #sched.schedule: order 'dx-major' is no loop order of one GEMM
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "dx-major", tiles = [4x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// Two tilings for one GEMM.
// CHECK: sched-invalid.mlir:53:3: error: 'grad.matmul' op sched.schedule has 2 tiling(s); this op computes fwd: give 1
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "sequential", tiles = [4x16x8, 4x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// Loop orders belong to the sequential order.
// CHECK: sched-invalid.mlir:63:78: error: #sched.schedule: loops (one loop order per GEMM) belong to order 'sequential'
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>, %dy: tensor<4x16xf16>)
    -> (tensor<4x8xf16>, tensor<8x16xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul", sched.schedule = #sched.schedule<order = "dx-major", tiles = [4x16x8, 4x16x8], loops = ["ijl", "ijl"]>}
      : (tensor<4x16xf16>, tensor<4x8xf16>, tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>)
  func.return %dx, %dw : tensor<4x8xf16>, tensor<8x16xf16>
}
// -----

// A fused order walks both GEMMs with one tiling.
// CHECK: sched-invalid.mlir:73:78: error: #sched.schedule: order 'dw-major' walks dX and dW with one tiling; give the same tiles twice
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>, %dy: tensor<4x16xf16>)
    -> (tensor<4x8xf16>, tensor<8x16xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul", sched.schedule = #sched.schedule<order = "dw-major", tiles = [4x16x8, 4x8x8]>}
      : (tensor<4x16xf16>, tensor<4x8xf16>, tensor<8x16xf16>) -> (tensor<4x8xf16>, tensor<8x16xf16>)
  func.return %dx, %dw : tensor<4x8xf16>, tensor<8x16xf16>
}
// -----

// A partition of no parts.
// CHECK: sched-invalid.mlir:82:45: error: #sched.schedule: parts and cores must be at least 1, got 0 and 1
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [4x16x8], partition = "m", parts = 0>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A partition along a dimension that does not exist.
// CHECK: sched-invalid.mlir:91:45: error: #sched.schedule: partition 'z' is none of none, m, n, k
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [4x16x8], partition = "z", parts = 2>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// Parts without a dimension to cut.
// CHECK: sched-invalid.mlir:100:45: error: #sched.schedule: 2 parts need a partition dimension (m, n or k)
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [4x16x8], parts = 2>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A GEMM frame that is not the op's (M = 4, N = 16, K = 8).
// CHECK: sched-invalid.mlir:109:3: error: 'grad.matmul' op sched.gemm disagrees with the op's shapes: they give #sched.gemm<m = 4, n = 16, k = 8, groups = 1>
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.gemm = #sched.gemm<m = 4, n = 16, k = 9, groups = 1>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A schedule that is not a #sched.schedule (the dictionaries of igoc 0.1).
// CHECK: sched-invalid.mlir:118:3: error: 'grad.matmul' op sched.schedule must be a #sched.schedule<...>
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = {order = "ijl"}}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A sched attribute igoc does not know (igoc 0.1's sched.tile, say).
// CHECK: sched-invalid.mlir:127:3: error: 'grad.matmul' op unknown attribute 'sched.tile'; a layer op's sched attributes are sched.gemm, sched.im2col, sched.schedule, sched.policy, sched.candidates, sched.partitions
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.tile = [[4, 16, 8]]}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// im2col is for convolutions.
// CHECK: sched-invalid.mlir:136:3: error: 'grad.matmul' op sched.im2col applies only to convolutions
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.im2col = "on-the-fly"}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// An entry the schedule does not have.
// CHECK: sched-invalid.mlir:145:94: error: unknown entry 'tile'; entries: order, tiles, loops, partition, parts, cores
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.schedule = #sched.schedule<order = "ijl", tiles = [4x16x8], tile = [4x16x8]>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
// -----

// A number of more than 100 digits in an attribute (never converted, however long).
// CHECK: sched-invalid.mlir:154:57: error: a number of 101 digits; numbers have at most 100
func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w {sched.gemm = #sched.gemm<m = 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999, n = 16, k = 8, groups = 1>}
      : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}
