; 7. two cores and a barrier: core 0 copies a to c; after the barrier core 1 copies c to d.
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
.tensor a input f16 [8, 8]
.tensor c scratch f16 [8, 8]
.tensor d output f16 [8, 8]
.core 0
    load a[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    store spm 0x0 f16 -> c[row 0, col 0] rows=8 cols=8
    barrier 0 cores 0,1
    halt
.core 1
    barrier 0 cores 0,1
    load c[row 0, col 0] rows=8 cols=8 -> spm 0x0 f16
    store spm 0x0 f16 -> d[row 0, col 0] rows=8 cols=8
    halt
