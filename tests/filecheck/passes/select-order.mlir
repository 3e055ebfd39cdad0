// select-order picks each op's tile order and records every candidate it weighed.
// RUN: igoc-opt %s --target %S/Inputs/tiny.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order{policy=paper}' | filecheck %s --check-prefix=PAPER
// RUN: igoc-opt %s --target %S/Inputs/tiny.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order{policy=cost}' | filecheck %s --check-prefix=COST
// RUN: igoc-opt %s --target %S/Inputs/tiny.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order{policy=dw-major}' | filecheck %s --check-prefix=FIXED
// RUN: not igoc-opt %s -p 'select-order{policy=fastest}' 2>&1 | filecheck %s --check-prefix=BAD

// Algorithm 1: max(M,N,K)/min(M,N,K) = 64/32 < 4, so only-interleaving.
// PAPER-LABEL: func.func @balanced
// PAPER: grad.interleaved {{.*}}sched.schedule = #sched.schedule<order = "only-interleaving"
// PAPER-SAME: sched.policy = "paper"
func.func @balanced(%x: tensor<64x32xf16>, %w: tensor<32x48xf16>, %dy: tensor<64x48xf16>)
    -> (tensor<64x32xf16>, tensor<32x48xf16>) {
  %dx = grad.matmul_dx %dy, %w : (tensor<64x48xf16>, tensor<32x48xf16>) -> tensor<64x32xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<64x32xf16>, tensor<64x48xf16>) -> tensor<32x48xf16>
  func.return %dx, %dw : tensor<64x32xf16>, tensor<32x48xf16>
}

// K = 256 is the largest and 256/16 >= 4: dW-major.
// PAPER-LABEL: func.func @wide_k
// PAPER: sched.schedule = #sched.schedule<order = "dw-major"
func.func @wide_k(%x: tensor<16x256xf16>, %w: tensor<256x32xf16>, %dy: tensor<16x32xf16>)
    -> (tensor<16x256xf16>, tensor<256x32xf16>) {
  %dx = grad.matmul_dx %dy, %w : (tensor<16x32xf16>, tensor<256x32xf16>) -> tensor<16x256xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<16x256xf16>, tensor<16x32xf16>) -> tensor<256x32xf16>
  func.return %dx, %dw : tensor<16x256xf16>, tensor<256x32xf16>
}

// M = 256 is the largest: dX-major.
// PAPER-LABEL: func.func @tall_m
// PAPER: sched.schedule = #sched.schedule<order = "dx-major"
// A forward op has one GEMM: it gets its best loop order whatever the policy, among all six.
// COST-LABEL: func.func @tall_m
// COST: grad.matmul {{.*}}sched.schedule = #sched.schedule<order = "{{ijl|ilj|jil|jli|lij|lji}}"
// COST-SAME: sched.candidates = [{order = "ijl", {{.*}}}, {order = "ilj", {{.*}}}, {order = "jil", {{.*}}}, {order = "jli", {{.*}}}, {order = "lij", {{.*}}}, {order = "lji", {{.*}}}]
// The fused op weighs every order, the sequential (baseline) one first, each with its tiles,
// DRAM bytes and estimated cycles (and simulated cycles where the simulator decided).
// COST: grad.interleaved {{.*}}sched.policy = "cost", sched.candidates = [{order = "sequential", tile = {{\[\[.*\]\]}}, dram_bytes = {{[0-9]+}}, cycles = {{[0-9]+}}{{(, simulated_cycles = [0-9]+)?}}}, {order = "only-interleaving", {{.*}}}, {order = "dx-major", {{.*}}}, {order = "dw-major", {{.*}}}, {order = "fused-ilj", {{.*}}}, {order = "fused-jli", {{.*}}}, {order = "fused-lij", {{.*}}}, {order = "fused-lji", {{.*}}}]
// FIXED-LABEL: func.func @tall_m
// FIXED: grad.interleaved {{.*}}sched.schedule = #sched.schedule<order = "dw-major"
func.func @tall_m(%x: tensor<256x16xf16>, %w: tensor<16x32xf16>, %dy: tensor<256x32xf16>)
    -> (tensor<256x32xf16>, tensor<256x16xf16>, tensor<16x32xf16>) {
  %y = grad.matmul %x, %w : (tensor<256x16xf16>, tensor<16x32xf16>) -> tensor<256x32xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<256x32xf16>, tensor<16x32xf16>) -> tensor<256x16xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<256x16xf16>, tensor<256x32xf16>) -> tensor<16x32xf16>
  func.return %y, %dx, %dw : tensor<256x32xf16>, tensor<256x16xf16>, tensor<16x32xf16>
}

// BAD: select-order: policy must be one of cost, paper, exhaustive, paper-oracle, sequential, only-interleaving, dx-major, dw-major
