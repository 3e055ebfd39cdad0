; 9. serial finishing first on two cores (a scheduling anomaly of the shared DRAM channel):
; core 0's store does not wait for its load when DMA and compute overlap, so it takes the
; channel at once, ahead of core 1's load, on which core 1's matmul waits.
.target {
name = "tiny"
cores = 2
array_rows = 4
array_cols = 4
clock_mhz = 1000.0
spm_bytes = 65536
spm_shared = false
dram_bandwidth_gb_per_s = 16.0
dram_latency_cycles = 0
dataflow = "os"
element_bytes = 2
acc_bytes = 4
psum_bytes = 2
}
.tensor a input f16 [8, 8]
.tensor b input f16 [8, 8]
.tensor c output f16 [8, 8]
.core 0
    load a[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    store spm 0x100 f16 -> c[row 0, col 0] rows=8 cols=8
    halt
.core 1
    load b[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    matmul spm 0x200 f32 = spm 0x0 * spm 0x0 f16 m=8 k=8 n=8
    halt
