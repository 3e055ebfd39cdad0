// What the front end reads: MLIR syntax, custom and generic, and how igoc prints it back.
// RUN: igoc-opt %s | filecheck %s
// RUN: igoc-opt %s | igoc-opt - | filecheck %s
// RUN: igoc-opt %s --generic | igoc-opt - | filecheck %s

// A named module with attributes; `module` and `builtin.module` are the same op.
// CHECK: builtin.module @m attributes {igoc.note = "syntax test", igoc.version = 3} {
module @m attributes {igoc.note = "syntax test", igoc.version = 3} {

  // Statements may span lines; comments go anywhere.
  // CHECK: func.func @spread(%[[X:.*]]: tensor<4x8xf16>, %[[W:.*]]: tensor<8x2xf16>) -> tensor<4x2xf16> {
  // CHECK-NEXT: %[[Y:.*]] = grad.matmul %[[X]], %[[W]] : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  // CHECK-NEXT: func.return %[[Y]] : tensor<4x2xf16>
  func.func @spread(
      %x: tensor<4x8xf16>,   // the activations
      %w: tensor<8x2xf16>)   // the weights
      -> tensor<4x2xf16> {
    %y = grad.matmul
        %x, %w
        : (tensor<4x8xf16>,
           tensor<8x2xf16>)
        -> tensor<4x2xf16>
    func.return %y : tensor<4x2xf16>
  }

  // Every kind of attribute value: bare integers are i64 and bare floats f64, so they print bare.
  // CHECK-LABEL: func.func @attributes
  // CHECK-NEXT: grad.matmul %{{.*}}, %{{.*}} {note.int = -3, note.i32 = 7 : i32, note.index = 4 : index, note.float = 0.125, note.f32 = 1.500000e+00 : f32, note.inf = 0x7ff0000000000000 : f64, note.string = "tab\09quote\22", note.true = true, note.false = false, note.unit, note.array = [1, [2, "x"], {k = 1}], note.empty = [], note.dict = {a = 1, b = {c = 2.5}}, note.dense = array<i64: 1, -2, 3>, note.dense_f32 = array<f32: 1.000000e+00, 2.500000e+00>, note.no_values = array<i32>, note.type = tensor<2x3xf32>, note.fn = (i32, index) -> f64, note.hex = 255}
  func.func @attributes(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<4x2xf16> {
    %y = grad.matmul %x, %w {note.int = -3, note.i32 = 7 : i32, note.index = 4 : index,
        note.float = 0.125, note.f32 = 1.5 : f32, note.inf = 0x7FF0000000000000 : f64,
        note.string = "tab\tquote\"", note.true = true, note.false = false, note.unit,
        note.array = [1, [2, "x"], {k = 1}], note.empty = [],
        note.dict = {a = 1, b = {c = 2.5}}, note.dense = array<i64: 1, -2, 3>,
        note.dense_f32 = array<f32: 1.0, 2.5>, note.no_values = array<i32>,
        note.type = tensor<2x3xf32>, note.fn = (i32, index) -> f64,
        note.hex = 0xff}
        : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
    func.return %y : tensor<4x2xf16>
  }

  // Keywords and type names are plain names where an attribute name stands; any name may be quoted.
  // CHECK-LABEL: func.func @keywords
  // CHECK-SAME: attributes {index = 1, private = 2, module = "m", f32 = true, "quoted name" = 1}
  func.func @keywords() attributes {index = 1, private = 2, module = "m", f32 = true, "quoted name" = 1} {
    func.return
  }

  // `%r:2` names both results of an op; `%r#1` is the second.
  // CHECK-LABEL: func.func @results
  // CHECK: %[[DX:.*]], %[[DW:.*]] = grad.interleaved
  // CHECK-NEXT: func.return %[[DW]], %[[DX]] : tensor<8x2xf16>, tensor<4x8xf16>
  func.func @results(%dy: tensor<4x2xf16>, %x: tensor<4x8xf16>, %w: tensor<8x2xf16>)
      -> (tensor<8x2xf16>, tensor<4x8xf16>) {
    %r:2 = grad.interleaved %dy, %x, %w {kind = "matmul"}
        : (tensor<4x2xf16>, tensor<4x8xf16>, tensor<8x2xf16>) -> (tensor<4x8xf16>, tensor<8x2xf16>)
    func.return %r#1, %r#0 : tensor<8x2xf16>, tensor<4x8xf16>
  }

  // The generic form works for every registered op, in the middle of custom text;
  // properties may also be written in the attribute dictionary.
  // CHECK-LABEL: func.func @generic
  // CHECK-NEXT: grad.conv2d %{{.*}}, %{{.*}} {stride = [2, 2], padding = [1, 1]} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  // CHECK-NEXT: grad.conv2d_dw %{{.*}}, %{{.*}} {stride = [2, 2], padding = [1, 1], note.tag = "t"} :
  func.func @generic(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>, %dy: tensor<1x4x4x4xf32>)
      -> (tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) {
    %y = "grad.conv2d"(%x, %w) <{stride = [2 : i64, 2 : i64], padding = [1, 1]}>
        : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
    %dw = "grad.conv2d_dw"(%x, %dy) {stride = [2, 2], padding = [1, 1], note.tag = "t"}
        : (tensor<1x4x8x8xf32>, tensor<1x4x4x4xf32>) -> tensor<4x4x3x3xf32>
    "func.return"(%y, %dw) : (tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) -> ()
  }

  // Declarations, visibility, argument and result attributes.
  // CHECK: func.func private @external(tensor<2xf32>, i32) -> (tensor<2xf32>, index)
  // CHECK: func.func @arg_attrs(%{{.*}}: tensor<2xf32> {igoc.role = "x"}) -> (tensor<2xf32> {igoc.role = "y"})
  func.func private @external(tensor<2xf32>, i32) -> (tensor<2xf32>, index)
  func.func @arg_attrs(%a: tensor<2xf32> {igoc.role = "x"}) -> (tensor<2xf32> {igoc.role = "y"}) {
    func.return %a : tensor<2xf32>
  }
}
