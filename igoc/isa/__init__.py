"""The NPU instruction set, its binary encoding, the .npu file and the assembly text."""
