; 4. matmul, output stationary: c (8x8) = a (8x12) . b (12x8), fp32 accumulator.
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
.tensor a input f16 [8, 12]
.tensor b input f16 [12, 8]
.tensor c output f16 [8, 8]
.reference [{"op": "matmul", "inputs": ["a", "b"], "outputs": ["c"], "attrs": {}}]
.core 0
    load a[row 0, col 0] rows=8 cols=12 -> spm 0x0 f16
    load b[row 0, col 0] rows=12 cols=8 -> spm 0x100 f16
    matmul spm 0x200 f32 = spm 0x0 * spm 0x100 f16 m=8 k=12 n=8
    store spm 0x200 f32 -> c[row 0, col 0] rows=8 cols=8
    halt
