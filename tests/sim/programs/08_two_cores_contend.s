; 8. two cores contending for DRAM: each streams four 128-byte blocks at the same time.
.target {
name = "tiny"
cores = 2
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
.tensor a input f16 [32, 8]
.tensor b input f16 [32, 8]
.core 0
    load a[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    load a[row 8, col 0] rows=8 cols=8 -> spm 0x80 f16
    load a[row 16, col 0] rows=8 cols=8 -> spm 0x100 f16
    load a[row 24, col 0] rows=8 cols=8 -> spm 0x180 f16
    halt
.core 1
    load b[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    load b[row 8, col 0] rows=8 cols=8 -> spm 0x80 f16
    load b[row 16, col 0] rows=8 cols=8 -> spm 0x100 f16
    load b[row 24, col 0] rows=8 cols=8 -> spm 0x180 f16
    halt
