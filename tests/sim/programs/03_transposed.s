; 3. transposed: an 8x4 block of a lands in SPM as 4x8; c = a[:, 0:4] transposed.
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
.tensor c output f16 [4, 8]
.core 0
    load a[row 0, col 0] rows=8 cols=4 -> spm 0x0 f16 transpose
    store spm 0x0 f16 -> c[row 0, col 0] rows=4 cols=8
    halt
