// A layer whose smallest tiles do not fit the SPM is an error at its op, saying how much it needs.
// RUN: not igoc-opt %s --target %S/Inputs/crumb.toml -p conv-to-gemm,tile 2>&1 | filecheck %s
// RUN: not igoc %s --target %S/Inputs/crumb.toml -o %t.npu 2>&1 | filecheck %s

// On a 64x64 array, one step of 64x64x64 tiles holds X, W (8 KiB each in f16) and Y's
// accumulator (16 KiB in f32): 32 KiB, far more than the 4 KiB SPM.
// CHECK: tile-invalid.mlir:[[# @LINE + 4]]:3: error: layer y cannot be scheduled: one step of its smallest tiles (64x64x64) needs 32.0 KiB of SPM, the target has 4.0 KiB per core
// CHECK-NEXT: %y = grad.matmul
// CHECK-NEXT: ^
func.func @big(%x: tensor<256x256xf16>, %w: tensor<256x256xf16>) -> tensor<256x256xf16> {
  %y = grad.matmul %x, %w : (tensor<256x256xf16>, tensor<256x256xf16>) -> tensor<256x256xf16>
  func.return %y : tensor<256x256xf16>
}
