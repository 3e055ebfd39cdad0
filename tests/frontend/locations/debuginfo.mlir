// A module in the form mlir-opt 19 prints with --mlir-print-debuginfo: location aliases
// before and after the module, locations after ops, arguments and regions, of every kind.
#loc2 = loc("lin.mlir":3:8)
#loc3 = loc("lin.mlir":3:31)
module {
  func.func @linear(%arg0: tensor<4x128xf16> loc(#loc2), %arg1: tensor<128x64xf16> loc(#loc3), %arg2: tensor<4x64xf16> loc(unknown)) -> (tensor<4x64xf16>, tensor<4x128xf16>) {
    %0 = "grad.matmul"(%arg0, %arg1) : (tensor<4x128xf16>, tensor<128x64xf16>) -> tensor<4x64xf16> loc(#loc5)
    %1 = "grad.matmul_dx"(%arg2, %arg1) : (tensor<4x64xf16>, tensor<128x64xf16>) -> tensor<4x128xf16> loc(fused<"pass">["a.mlir":1:2, callsite("f"("b.mlir":3:4) at "c.mlir":5:6)])
    return %0, %1 : tensor<4x64xf16>, tensor<4x128xf16> loc("name(with parens)"("d.mlir":7:8))
  } loc(#loc1)
} loc(#loc)
#loc = loc("lin.mlir":1:1)
#loc1 = loc("lin.mlir":2:3)
#loc5 = loc(
    "lin.mlir":4:10)
