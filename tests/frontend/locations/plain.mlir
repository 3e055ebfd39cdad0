// The module of debuginfo.mlir without its locations, as mlir-opt 19 prints it.
module {
  func.func @linear(%arg0: tensor<4x128xf16>, %arg1: tensor<128x64xf16>, %arg2: tensor<4x64xf16>) -> (tensor<4x64xf16>, tensor<4x128xf16>) {
    %0 = "grad.matmul"(%arg0, %arg1) : (tensor<4x128xf16>, tensor<128x64xf16>) -> tensor<4x64xf16>
    %1 = "grad.matmul_dx"(%arg2, %arg1) : (tensor<4x64xf16>, tensor<128x64xf16>) -> tensor<4x128xf16>
    return %0, %1 : tensor<4x64xf16>, tensor<4x128xf16>
  }
}
