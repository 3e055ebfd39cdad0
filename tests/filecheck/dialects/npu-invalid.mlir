// Each part breaks a rule of the npu dialect; the diagnostic says which, at the op.
// RUN: not igoc-opt %s --split-input-file 2>&1 | filecheck %s

// A zero fill of a tensor the program does not declare.
// CHECK: npu-invalid.mlir:6:1: error: 'npu.program' op npu.zero refers to @dx, which is no npu.tensor of the program
"npu.program"() ({
  "npu.tensor"() <{sym_name = "x", role = "input", type = tensor<4x8xf16>}> : () -> ()
  "npu.core"() <{core = 0 : i64}> ({
    "npu.zero"() <{tensor = @dx, stats = {instructions = 1 : i64}}> : () -> ()
  }) : () -> ()
}) : () -> ()
// -----

// A zero fill outside a core.
// CHECK: npu-invalid.mlir:18:3: error: 'npu.zero' op 'npu.zero' expects parent op 'npu.core'
"npu.program"() ({
  "npu.tensor"() <{sym_name = "dx", role = "output", type = tensor<4x8xf16>}> : () -> ()
  "npu.zero"() <{tensor = @dx, stats = {instructions = 1 : i64}}> : () -> ()
}) : () -> ()
