// Each part is wrong in one way the front end catches, before or besides xDSL's verifier.
// RUN: not igoc-opt %s --split-input-file 2>&1 | filecheck %s

// CHECK: syntax-invalid.mlir:8:24: error: use of undefined value %v
// CHECK-NEXT: %y = grad.matmul %x, %v
// CHECK-NEXT: ^
func.func @undefined(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %v : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// CHECK: error: %dy2 is used before its definition (at line [[#]], column 3)
func.func @order(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>, %dy: tensor<4x16xf16>) -> tensor<8x16xf16> {
  %dw = grad.matmul_dw %x, %dy2 : (tensor<4x8xf16>, tensor<4x16xf16>) -> tensor<8x16xf16>
  %dy2 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %dw : tensor<8x16xf16>
}

// -----

// CHECK: error: redefinition of %y (first defined at line [[#]], column 3)
func.func @twice(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// CHECK: error: redefinition of %x (first defined at line [[#]], column 16)
func.func @arg(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %x = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %x : tensor<4x16xf16>
}

// -----

// CHECK: error: unknown op 'grad.conv3d'; did you mean 'grad.conv2d'? known grad ops: grad.conv2d, grad.conv2d_dw, grad.conv2d_dx, grad.interleaved, grad.matmul, grad.matmul_dw, grad.matmul_dx
func.func @unknown(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = grad.conv3d %x, %x : (tensor<4x8xf16>, tensor<4x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: unknown op 'nn.relu' (known dialects: builtin, func, grad{{.*}}; an op is written dialect.name)
func.func @dialect(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = nn.relu %x : (tensor<4x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: unknown op 'matmul'; did you mean 'grad.matmul'? (known dialects: builtin, func, grad{{.*}}; an op is written dialect.name)
func.func @bare(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = matmul %x, %x : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: type mismatch for %w: the signature of grad.matmul gives tensor<4x8xf16>, but %w is tensor<8x16xf16> (defined at line [[#]])
func.func @swapped(%x: tensor<4x8xf16>, %w: tensor<8x16xf16>) -> tensor<4x16xf16> {
  %y = grad.matmul %w, %x : (tensor<4x8xf16>, tensor<8x16xf16>) -> tensor<4x16xf16>
  func.return %y : tensor<4x16xf16>
}

// -----

// CHECK: error: grad.matmul has 1 operand(s) but its signature lists 2 operand type(s)
func.func @operands(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: grad.matmul has 1 result(s) but 2 name(s) are given before '='
func.func @names(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y, %z = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: func.return returns 1 value(s), but @count declares 2 result(s) (tensor<4x8xf16>, tensor<4x8xf16>)
func.func @count(%x: tensor<4x8xf16>) -> (tensor<4x8xf16>, tensor<4x8xf16>) {
  func.return %x : tensor<4x8xf16>
}

// -----

// CHECK: error: func.return value 1 (%x) is tensor<4x8xf16>, but @kind declares result 1 as tensor<4x8xf32>
func.func @kind(%x: tensor<4x8xf16>) -> tensor<4x8xf32> {
  func.return %x : tensor<4x8xf16>
}

// -----

// CHECK: error: the body of @open must end with func.return
func.func @open(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
}

// -----

// CHECK: error: func.return outside a function
func.return

// -----

// CHECK: error: redefinition of @f (first defined at line [[#]])
func.func @f() {
  func.return
}
func.func @f() {
  func.return
}

// -----

// CHECK: error: unexpected '('; expected {{.*}}':' or '{'
func.func @colon(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: unexpected '}'; expected an attribute value
func.func @value(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w {note.n = } : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: duplicate attribute 'note.n'
func.func @dup(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w {note.n = 1, note.n = 2} : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: Integer value 300 is out of range for type i8
func.func @range(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w {note.n = 300 : i8} : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: unknown element type 'q8' in tensor<4x8xq8>; expected f16, bf16, f32, f64, i1, i8, i16, i32, i64 or index
func.func @element(%x: tensor<4x8xq8>) {
  func.return
}

// -----

// CHECK: error: tensor<?x8xf16> has a dynamic dimension; shapes must be static
func.func @dynamic(%x: tensor<?x8xf16>) {
  func.return
}

// -----

// CHECK: error: unterminated string (a string ends with '"' on the same line)
func.func @string(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w {note.s = "abc} : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: unexpected character '&' (U+0026)
func.func @character(%x: tensor<4x8xf16>) {
  func.return & 
}

// -----

// An op without igoc's uniform form is written in the generic form.
// CHECK: error: builtin.unrealized_conversion_cast has no uniform custom form; write it in the generic form "builtin.unrealized_conversion_cast"(...) : (...) -> (...)
func.func @cast(%x: tensor<4x8xf16>) -> tensor<4x8xf32> {
  %y = builtin.unrealized_conversion_cast %x : (tensor<4x8xf16>) -> tensor<4x8xf32>
  func.return %y : tensor<4x8xf32>
}

// -----

// CHECK: error: grad.matmul has no property 'strid' (its properties: none)
func.func @property(%x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %y = "grad.matmul"(%x, %x) <{strid = 1}> : (tensor<4x8xf16>, tensor<4x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}

// -----

// CHECK: error: %r has 2 result(s); #2 does not exist
func.func @index(%dy: tensor<4x2xf16>, %x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<8x2xf16> {
  %r:2 = grad.interleaved %dy, %x, %w {kind = "matmul"}
      : (tensor<4x2xf16>, tensor<4x8xf16>, tensor<8x2xf16>) -> (tensor<4x8xf16>, tensor<8x2xf16>)
  func.return %r#2 : tensor<8x2xf16>
}

// -----

// A file cut short: the last part ends in the middle of a function.
// CHECK: error: unexpected end of the input (is the file cut short?); expected an operation, '}' or a block label (^name)
func.func @cut(%x: tensor<4x8xf16>, %w: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>

// -----

// An op of a dialect igoc does not read, whose syntax the grammar cannot follow, is named.
// CHECK: syntax-invalid.mlir:{{[0-9]+}}:8: error: unknown op 'arith.constant' (known dialects: builtin, func, grad{{.*}})
func.func @constant() -> tensor<4xf16> {
  %c = "arith.constant"() <{value = dense<1.0> : tensor<4xf16>}> : () -> tensor<4xf16>
  func.return %c : tensor<4xf16>
}

// -----

// CHECK: syntax-invalid.mlir:{{[0-9]+}}:8: error: unknown op 'arith.addf'
func.func @add(%a: tensor<4xf16>, %b: tensor<4xf16>) -> tensor<4xf16> {
  %c = arith.addf %a, %b : tensor<4xf16>
  func.return %c : tensor<4xf16>
}

// -----

// CHECK: syntax-invalid.mlir:{{[0-9]+}}:87: error: location alias '#loc7' is used but never defined
func.func @alias(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<4x2xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16> loc(#loc7)
  func.return %y : tensor<4x2xf16>
}

// -----

// CHECK: syntax-invalid.mlir:{{[0-9]+}}:83: error: a location 'loc(' is not closed by its ')'
func.func @open(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<4x2xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16> loc("a.mlir":1
  func.return %y : tensor<4x2xf16>
}

// -----

// CHECK: syntax-invalid.mlir:{{[0-9]+}}:1: error: attribute aliases ('#name') are not read; only location aliases are ('#loc1 = loc(...)')
#map = affine_map<(d0) -> (d0)>
