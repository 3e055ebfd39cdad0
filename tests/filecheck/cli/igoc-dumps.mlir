// igoc shows the IR around each pass as mlir-opt does, on standard error.
// RUN: igoc %s --pass-pipeline=cse,canonicalize --print-ir-after-all -o %t.out 2>&1 | filecheck %s
// RUN: igoc %s --pass-pipeline=cse,canonicalize --print-ir-before-all --print-ir-after=canonicalize -o %t.out 2>&1 | filecheck %s --check-prefix=BEFORE
// RUN: igoc %s --pass-pipeline=cse --emit=grad | filecheck %s --check-prefix=GRAD
// RUN: igoc %s --pass-pipeline=cse --generic --print-ir-after-all -o %t.out 2>&1 | filecheck %s --check-prefix=GENERIC

// cse merges the two identical matmuls and drops the unused one; canonicalize finds nothing left.
// CHECK: // -----// IR Dump After cse //----- //
// CHECK-NEXT: builtin.module attributes {igoc.target = #npu.target<name = "server", cores = 1,
// CHECK: func.func @layer
// CHECK-NEXT: %[[Y:.*]] = grad.matmul
// CHECK-NEXT: grad.matmul_dx
// CHECK-NEXT: grad.matmul_dw
// CHECK-NEXT: func.return %{{.*}}, %{{.*}}, %[[Y]], %[[Y]]
// CHECK: // -----// IR Dump After canonicalize //----- //
// CHECK: func.func @layer
// CHECK-NEXT: %[[Y2:.*]] = grad.matmul %
// CHECK-NEXT: grad.matmul_dx
// CHECK-NEXT: grad.matmul_dw
// CHECK-NEXT: func.return %{{.*}}, %{{.*}}, %[[Y2]], %[[Y2]]

// BEFORE: // -----// IR Dump Before cse //----- //
// BEFORE: grad.matmul %
// BEFORE-NEXT: grad.matmul %
// BEFORE-NEXT: grad.matmul %
// BEFORE: // -----// IR Dump Before canonicalize //----- //
// BEFORE-NOT: IR Dump After cse
// BEFORE: // -----// IR Dump After canonicalize //----- //

// --emit=grad prints the verified input: no pass has run, and no target is stamped.
// GRAD: builtin.module {
// GRAD-NEXT: func.func @layer
// GRAD-NEXT: grad.matmul %
// GRAD-NEXT: grad.matmul %
// GRAD-NEXT: grad.matmul %

// GENERIC: // -----// IR Dump After cse //----- //
// GENERIC-NEXT: "builtin.module"() ({
// GENERIC: "grad.matmul"(%{{.*}}, %{{.*}}) : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>

func.func @layer(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>, %w2: tensor<8x2xf16>,
                  %dy: tensor<4x2xf16>)
    -> (tensor<4x8xf16>, tensor<8x2xf16>, tensor<4x2xf16>, tensor<4x2xf16>) {
  %y1 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  %y2 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  %unused = grad.matmul %x, %w2 : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<4x2xf16>, tensor<8x2xf16>) -> tensor<4x8xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<4x8xf16>, tensor<4x2xf16>) -> tensor<8x2xf16>
  func.return %dx, %dw, %y1, %y2 : tensor<4x8xf16>, tensor<8x2xf16>, tensor<4x2xf16>, tensor<4x2xf16>
}
