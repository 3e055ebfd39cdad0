// The grad dialect round-trips: custom form in, custom form out; generic form out and back.
// RUN: igoc-opt %s | filecheck %s
// RUN: igoc-opt %s --generic | filecheck %s --check-prefix=GENERIC
// RUN: igoc-opt %s --generic | igoc-opt - | filecheck %s

// CHECK-LABEL: func.func @matmul_family
// CHECK-SAME: (%[[X:.*]]: tensor<8x32xf16>, %[[W:.*]]: tensor<32x16xf16>, %[[DY:.*]]: tensor<8x16xf16>)
// CHECK-NEXT: %{{.*}} = grad.matmul %[[X]], %[[W]] : (tensor<8x32xf16>, tensor<32x16xf16>) -> tensor<8x16xf16>
// CHECK-NEXT: %{{.*}} = grad.matmul_dx %[[DY]], %[[W]] : (tensor<8x16xf16>, tensor<32x16xf16>) -> tensor<8x32xf16>
// CHECK-NEXT: %{{.*}} = grad.matmul_dw %[[X]], %[[DY]] : (tensor<8x32xf16>, tensor<8x16xf16>) -> tensor<32x16xf16>
// CHECK-NEXT: %[[DX2:.*]], %[[DW2:.*]] = grad.interleaved %[[DY]], %[[X]], %[[W]] {kind = "matmul"} : (tensor<8x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>) -> (tensor<8x32xf16>, tensor<32x16xf16>)
// GENERIC-LABEL: "func.func"() <{sym_name = "matmul_family"
// GENERIC: "grad.matmul"(%{{.*}}, %{{.*}}) : (tensor<8x32xf16>, tensor<32x16xf16>) -> tensor<8x16xf16>
// GENERIC: "grad.interleaved"(%{{.*}}, %{{.*}}, %{{.*}}) <{kind = "matmul", stride = [1 : i64, 1 : i64], padding = [0 : i64, 0 : i64], dilation = [1 : i64, 1 : i64], groups = 1 : i64}>
func.func @matmul_family(%x: tensor<8x32xf16>, %w: tensor<32x16xf16>, %dy: tensor<8x16xf16>)
    -> (tensor<8x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>) {
  %y = grad.matmul %x, %w : (tensor<8x32xf16>, tensor<32x16xf16>) -> tensor<8x16xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<8x16xf16>, tensor<32x16xf16>) -> tensor<8x32xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<8x32xf16>, tensor<8x16xf16>) -> tensor<32x16xf16>
  %dx2, %dw2 = grad.interleaved %dy, %x, %w {kind = "matmul"}
      : (tensor<8x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>) -> (tensor<8x32xf16>, tensor<32x16xf16>)
  func.return %y, %dx, %dw, %dx2, %dw2
      : tensor<8x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>
}

// Conv attributes print as a user writes them, defaults left out; typed spellings are accepted.
// CHECK-LABEL: func.func @conv_family
// CHECK-NEXT: grad.conv2d %{{.*}}, %{{.*}} {stride = [2, 2], padding = [1, 1]} : (tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>) -> tensor<2x16x8x8xbf16>
// CHECK-NEXT: grad.conv2d_dx %{{.*}}, %{{.*}} {stride = [2, 2], padding = [1, 1]} : (tensor<2x16x8x8xbf16>, tensor<16x8x3x3xbf16>) -> tensor<2x8x16x16xbf16>
// CHECK-NEXT: grad.conv2d_dw %{{.*}}, %{{.*}} {stride = [2, 2], padding = [1, 1]} : (tensor<2x8x16x16xbf16>, tensor<2x16x8x8xbf16>) -> tensor<16x8x3x3xbf16>
// CHECK-NEXT: grad.interleaved %{{.*}}, %{{.*}}, %{{.*}} {kind = "conv2d", stride = [2, 2], padding = [1, 1]} : (tensor<2x16x8x8xbf16>, tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>) -> (tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>)
// GENERIC-LABEL: "func.func"() <{sym_name = "conv_family"
// GENERIC: "grad.conv2d"(%{{.*}}, %{{.*}}) <{stride = [2 : i64, 2 : i64], padding = [1 : i64, 1 : i64], dilation = [1 : i64, 1 : i64], groups = 1 : i64}>
func.func @conv_family(%x: tensor<2x8x16x16xbf16>, %w: tensor<16x8x3x3xbf16>, %dy: tensor<2x16x8x8xbf16>)
    -> (tensor<2x16x8x8xbf16>, tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>, tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>) {
  %y = grad.conv2d %x, %w {stride = [2, 2], padding = [1, 1], dilation = [1, 1], groups = 1}
      : (tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>) -> tensor<2x16x8x8xbf16>
  %dx = grad.conv2d_dx %dy, %w {stride = [2 : i64, 2 : i64], padding = [1 : i64, 1 : i64]}
      : (tensor<2x16x8x8xbf16>, tensor<16x8x3x3xbf16>) -> tensor<2x8x16x16xbf16>
  %dw = grad.conv2d_dw %x, %dy {padding = [1, 1], stride = [2, 2]}
      : (tensor<2x8x16x16xbf16>, tensor<2x16x8x8xbf16>) -> tensor<16x8x3x3xbf16>
  %dx2, %dw2 = grad.interleaved %dy, %x, %w {kind = "conv2d", stride = [2, 2], padding = [1, 1]}
      : (tensor<2x16x8x8xbf16>, tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>)
      -> (tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>)
  func.return %y, %dx, %dw, %dx2, %dw2 : tensor<2x16x8x8xbf16>, tensor<2x8x16x16xbf16>,
      tensor<16x8x3x3xbf16>, tensor<2x8x16x16xbf16>, tensor<16x8x3x3xbf16>
}

// Grouped, depthwise and dilated convolutions (f32): Cin = groups x the weight's dim 1.
// CHECK-LABEL: func.func @grouped
// CHECK-NEXT: grad.conv2d %{{.*}}, %{{.*}} {padding = [2, 2], dilation = [2, 2], groups = 4} : (tensor<1x8x9x9xf32>, tensor<12x2x3x3xf32>) -> tensor<1x12x9x9xf32>
// CHECK-NEXT: grad.conv2d_dw %{{.*}}, %{{.*}} {padding = [1, 1], groups = 8} : (tensor<1x8x9x9xf32>, tensor<1x8x9x9xf32>) -> tensor<8x1x3x3xf32>
func.func @grouped(%x: tensor<1x8x9x9xf32>, %w: tensor<12x2x3x3xf32>, %dy: tensor<1x8x9x9xf32>)
    -> (tensor<1x12x9x9xf32>, tensor<8x1x3x3xf32>) {
  %y = grad.conv2d %x, %w {padding = [2, 2], dilation = [2, 2], groups = 4}
      : (tensor<1x8x9x9xf32>, tensor<12x2x3x3xf32>) -> tensor<1x12x9x9xf32>
  %dw = grad.conv2d_dw %x, %dy {padding = [1, 1], groups = 8}
      : (tensor<1x8x9x9xf32>, tensor<1x8x9x9xf32>) -> tensor<8x1x3x3xf32>
  func.return %y, %dw : tensor<1x12x9x9xf32>, tensor<8x1x3x3xf32>
}

// The passes' typed attributes (the sched dialect) and other dotted names with builtin values
// travel with the op.
// CHECK-LABEL: func.func @annotated
// CHECK-NEXT: grad.interleaved %{{.*}}, %{{.*}}, %{{.*}} {kind = "matmul", sched.gemm = #sched.gemm<m = 8, n = 16, k = 32, groups = 1>, sched.schedule = #sched.schedule<order = "dx-major", tiles = [8x16x32, 8x16x32], partition = "m", parts = 2, cores = 1>, note.bytes = [1024, 2048], note.ratio = 0.25, note.fixed} :
// GENERIC-LABEL: "func.func"() <{sym_name = "annotated"
// GENERIC: {sched.gemm = #sched.gemm<m = 8, n = 16, k = 32, groups = 1>, sched.schedule = #sched.schedule<order = "dx-major", tiles = [8x16x32, 8x16x32], partition = "m", parts = 2, cores = 1>, note.bytes = [1024 : i64, 2048 : i64], note.ratio = 2.500000e-01 : f64, note.fixed}
func.func @annotated(%x: tensor<8x32xf16>, %w: tensor<32x16xf16>, %dy: tensor<8x16xf16>)
    -> (tensor<8x32xf16>, tensor<32x16xf16>) {
  %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul",
      sched.gemm = #sched.gemm<m = 8, n = 16, k = 32, groups = 1>,
      sched.schedule = #sched.schedule<tiles = [8x16x32, 8x16x32], order = "dx-major",
                                       partition = "m", parts = 2>,
      note.bytes = [1024, 2048], note.ratio = 0.25, note.fixed}
      : (tensor<8x16xf16>, tensor<8x32xf16>, tensor<32x16xf16>) -> (tensor<8x32xf16>, tensor<32x16xf16>)
  func.return %dx, %dw : tensor<8x32xf16>, tensor<32x16xf16>
}
