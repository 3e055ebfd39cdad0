; 2. strided: columns 4..7 of every row of a (row stride 16) into c.
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
.tensor c output f16 [8, 4]
.core 0
    load a[row 0, col 4] rows=8 cols=4 -> spm 0x0 f16
    store spm 0x0 f16 -> c[row 0, col 0] rows=8 cols=4
    halt
