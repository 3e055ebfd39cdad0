; 6. accumulate: c += a . b over two K steps in SPM, then an accumulating store into c,
; which DRAM holds old data in until a zero store sets it to 0.
.target {
name = "tiny"
cores = 1
array_rows = 4
array_cols = 4
clock_mhz = 1000.0
spm_bytes = 65536
spm_shared = false
dram_bandwidth_gb_per_s = 16.0
dram_latency_cycles = 100
dataflow = "os"
element_bytes = 2
acc_bytes = 4
psum_bytes = 2
}
.tensor a input f16 [8, 16]
.tensor b input f16 [16, 8]
.tensor c output f16 [8, 8]
.reference [{"op": "matmul", "inputs": ["a", "b"], "outputs": ["c"], "attrs": {}}]
.core 0
.label k_loop
    load a[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    load b[row 0, col 0] rows=8 cols=8 -> spm 0x80 f16
    load a[row 0, col 8] rows=8 cols=8 -> spm 0x100 f16
    load b[row 8, col 0] rows=8 cols=8 -> spm 0x180 f16
    matmul spm 0x200 f32 = spm 0x0 * spm 0x80 f16 m=8 k=8 n=8
    matmul spm 0x200 f32 += spm 0x100 * spm 0x180 f16 m=8 k=8 n=8
.end k_loop
    store spm 0x0 f16 -> c[row 0, col 0] rows=8 cols=8 zero
    store spm 0x200 f32 -> c[row 0, col 0] rows=8 cols=8 accumulate
    halt
