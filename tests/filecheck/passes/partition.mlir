// partition splits each op along M, N or K, over the cores or in sequence on one.
// RUN: igoc-opt %s --target %S/Inputs/tiny-2c.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=m}' | filecheck %s --check-prefix=M
// RUN: igoc-opt %s --target %S/Inputs/tiny-2c.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=k}' | filecheck %s --check-prefix=K
// RUN: igoc-opt %s --target %S/Inputs/tiny-2c.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=cost}' | filecheck %s --check-prefix=COST
// RUN: igoc-opt %s --target %S/Inputs/tiny.toml -p 'conv-to-gemm,fuse-gradients,tile,select-order,partition{policy=m}' | filecheck %s --check-prefix=ONE
// RUN: not igoc-opt %s -p 'partition{policy=diagonal}' 2>&1 | filecheck %s --check-prefix=BAD

// The batch split: M in two boxes, one per core.
// M: grad.interleaved {{.*}}sched.schedule = #sched.schedule<{{.*}}, partition = "m", parts = 2, cores = 2>
// K: grad.interleaved {{.*}}sched.schedule = #sched.schedule<{{.*}}, partition = "k", parts = 2, cores = 2>
// With the cost policy the forward op keeps the batch split (option ops=backward), and the
// fused op lists the partitions it weighed, the batch split first.
// COST: grad.matmul {{.*}}sched.schedule = #sched.schedule<{{.*}}, partition = "m", parts = 2, cores = 2>
// COST: grad.interleaved {{.*}}sched.partitions = [{order = "{{[a-z-]+}}", tile = {{.*}}, partition = "m2", dram_bytes = {{[0-9]+}}, cycles = {{[0-9]+}}
// One core: nothing to split across.
// ONE: grad.interleaved {{.*}}sched.schedule = #sched.schedule<order = "{{[a-z-]+}}", tiles = [{{[0-9x, ]+}}]{{(, loops = \[[a-z", ]+\])?}}>,
func.func @layer(%x: tensor<64x32xf16>, %w: tensor<32x48xf16>, %dy: tensor<64x48xf16>)
    -> (tensor<64x48xf16>, tensor<64x32xf16>, tensor<32x48xf16>) {
  %y = grad.matmul %x, %w : (tensor<64x32xf16>, tensor<32x48xf16>) -> tensor<64x48xf16>
  %dx = grad.matmul_dx %dy, %w : (tensor<64x48xf16>, tensor<32x48xf16>) -> tensor<64x32xf16>
  %dw = grad.matmul_dw %x, %dy : (tensor<64x32xf16>, tensor<64x48xf16>) -> tensor<32x48xf16>
  func.return %y, %dx, %dw : tensor<64x48xf16>, tensor<64x32xf16>, tensor<32x48xf16>
}

// BAD: partition: policy must be one of cost, exhaustive, m, n, k, none
