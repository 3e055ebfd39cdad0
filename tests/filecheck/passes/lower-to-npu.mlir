// lower-to-npu turns the scheduled layers into one npu.program: DRAM tensors, and per core
// its share of every layer, with barriers where a layer reads what another core wrote.
// RUN: igoc-opt %s --target %S/Inputs/tiny-2c.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=m},lower-to-npu' | filecheck %s
// RUN: igoc-opt %s --target %S/Inputs/tiny-2c.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=m},lower-to-npu' | igoc-opt - | filecheck %s

// Arguments are inputs, returned values outputs, the rest scratch.
// CHECK: "npu.program"() ({
// CHECK-NEXT: "npu.tensor"() <{sym_name = "x", role = "input", type = tensor<32x16xf16>}>
// CHECK-NEXT: "npu.tensor"() <{sym_name = "w1", role = "input"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "w2", role = "input"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "dy", role = "input"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "h", role = "scratch", type = tensor<32x16xf16>}>
// CHECK-NEXT: "npu.tensor"() <{sym_name = "y", role = "output"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "dh", role = "scratch"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "dw2", role = "output"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "dx", role = "output"
// CHECK-NEXT: "npu.tensor"() <{sym_name = "dw1", role = "output"
// Core 0 first sets its rows of dW2 and dW1 to zero: with the batch split, both cores add
// their shares into them, and DRAM holds old data. Then it runs layer 1's forward op, and
// waits: layer 2 reads h, which both cores wrote.
// CHECK-NEXT: "npu.core"() <{core = 0 : i64}> ({
// CHECK-NEXT: "npu.zero"() <{tensor = @dw2, stats = {instructions = 1 : i64, dram_read_bytes = 0 : i64, dram_write_bytes = 128 : i64
// CHECK-NEXT: "npu.zero"() <{tensor = @dw1, stats = {instructions = 1 : i64, dram_read_bytes = 0 : i64, dram_write_bytes = 256 : i64
// A layer names its tensors by symbol and carries the schedule it was lowered from.
// CHECK-NEXT: "npu.layer"() <{name = "h", kind = "matmul", computations = ["fwd"], tensors = {X = @x, W = @w1, Y = @h}
// CHECK-SAME: schedule = #sched.schedule<order = "{{[ijl]+}}", tiles = [{{.*}}], partition = "m", parts = 2, cores = 2>
// CHECK-SAME: stats = {steps = {{[0-9]+}} : i64, instructions = {{[0-9]+}} : i64, dram_read_bytes = {{[0-9]+}} : i64, dram_write_bytes = {{[0-9]+}} : i64, estimated_cycles = {{[0-9]+}} : i64}
// CHECK-NEXT: "npu.barrier"() <{id = 0 : i64, cores = [0 : i64, 1 : i64]}>
// CHECK-NEXT: "npu.layer"() <{name = "y"
// CHECK-NEXT: "npu.layer"() <{name = "dh+dw2", kind = "matmul", computations = ["dx", "dw"], tensors = {X = @h, W = @w2, dY = @dy, dX = @dh, dW = @dw2}
// CHECK-NEXT: "npu.barrier"() <{id = 1 : i64
// CHECK-NEXT: "npu.layer"() <{name = "dx+dw1"
// CHECK-NEXT: }) : () -> ()
// Core 1 runs the same fills, layers and barriers.
// CHECK-NEXT: "npu.core"() <{core = 1 : i64}> ({
// CHECK-NEXT: "npu.zero"() <{tensor = @dw2
// CHECK-NEXT: "npu.zero"() <{tensor = @dw1
// CHECK-NEXT: "npu.layer"() <{name = "h"
// CHECK-NEXT: "npu.barrier"() <{id = 0 : i64
// CHECK-NEXT: "npu.layer"() <{name = "y"
// CHECK-NEXT: "npu.layer"() <{name = "dh+dw2"
// CHECK-NEXT: "npu.barrier"() <{id = 1 : i64
// CHECK-NEXT: "npu.layer"() <{name = "dx+dw1"
// CHECK-NOT: func.func
func.func @two_layers(%x: tensor<32x16xf16>, %w1: tensor<16x16xf16>, %w2: tensor<16x8xf16>,
                      %dy: tensor<32x8xf16>)
    -> (tensor<32x8xf16>, tensor<32x16xf16>, tensor<16x16xf16>, tensor<16x8xf16>) {
  %h = grad.matmul %x, %w1 : (tensor<32x16xf16>, tensor<16x16xf16>) -> tensor<32x16xf16>
  %y = grad.matmul %h, %w2 : (tensor<32x16xf16>, tensor<16x8xf16>) -> tensor<32x8xf16>
  %dh = grad.matmul_dx %dy, %w2 : (tensor<32x8xf16>, tensor<16x8xf16>) -> tensor<32x16xf16>
  %dw2 = grad.matmul_dw %h, %dy : (tensor<32x16xf16>, tensor<32x8xf16>) -> tensor<16x8xf16>
  %dx = grad.matmul_dx %dh, %w1 : (tensor<32x16xf16>, tensor<16x16xf16>) -> tensor<32x16xf16>
  %dw1 = grad.matmul_dw %x, %dh : (tensor<32x16xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
  func.return %y, %dx, %dw1, %dw2 : tensor<32x8xf16>, tensor<32x16xf16>, tensor<16x16xf16>, tensor<16x8xf16>
}
