// conv-to-gemm states each layer op as a GEMM: M = N*OH*OW, K = Cin/G*R*S, N = Cout/G.
// RUN: igoc-opt %s -p conv-to-gemm | filecheck %s
// RUN: igoc-opt %s -p 'conv-to-gemm{im2col=materialize}' | filecheck %s --check-prefix=MAT
// RUN: not igoc-opt %s -p 'conv-to-gemm{im2col=sideways}' 2>&1 | filecheck %s --check-prefix=BAD

// A matmul layer: M = 64, K = 256, N = 512, no im2col.
// CHECK-LABEL: func.func @fc
// CHECK: grad.matmul %{{.*}} {sched.gemm = #sched.gemm<m = 64, n = 512, k = 256, groups = 1>}
// CHECK: grad.matmul_dx %{{.*}} {sched.gemm = #sched.gemm<m = 64, n = 512, k = 256, groups = 1>}
// CHECK-NOT: sched.im2col
// CHECK: func.return
func.func @fc(%x: tensor<64x256xf16>, %w: tensor<256x512xf16>, %dy: tensor<64x512xf16>)
    -> (tensor<64x512xf16>, tensor<64x256xf16>) {
  %y = grad.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<64x512xf16>, tensor<256x512xf16>) -> tensor<64x256xf16>
  func.return %y, %dx : tensor<64x512xf16>, tensor<64x256xf16>
}

// A strided 3x3 conv, 56x56 -> 28x28, batch 4: M = 4*28*28 = 3136, K = 64*3*3 = 576, N = 128.
// CHECK-LABEL: func.func @strided
// CHECK: grad.conv2d_dw {{.*}}sched.gemm = #sched.gemm<m = 3136, n = 128, k = 576, groups = 1>, sched.im2col = "on-the-fly"
// MAT-LABEL: func.func @strided
// MAT: sched.im2col = "materialize"
func.func @strided(%x: tensor<4x64x56x56xf16>, %dy: tensor<4x128x28x28xf16>) -> tensor<128x64x3x3xf16> {
  %dw = grad.conv2d_dw %x, %dy {stride = [2, 2], padding = [1, 1]}
      : (tensor<4x64x56x56xf16>, tensor<4x128x28x28xf16>) -> tensor<128x64x3x3xf16>
  func.return %dw : tensor<128x64x3x3xf16>
}

// A grouped 3x3 conv (4 groups of 8 channels): each group is M = 2*8*8 = 128, K = 8*9 = 72, N = 8.
// CHECK-LABEL: func.func @grouped
// CHECK: grad.conv2d {{.*}}sched.gemm = #sched.gemm<m = 128, n = 8, k = 72, groups = 4>
func.func @grouped(%x: tensor<2x32x8x8xf16>, %w: tensor<32x8x3x3xf16>) -> tensor<2x32x8x8xf16> {
  %y = grad.conv2d %x, %w {padding = [1, 1], groups = 4}
      : (tensor<2x32x8x8xf16>, tensor<32x8x3x3xf16>) -> tensor<2x32x8x8xf16>
  func.return %y : tensor<2x32x8x8xf16>
}

// BAD: im2col must be one of on-the-fly, materialize, got 'sideways'
