"""Front end: the lark grammar, the parser from MLIR text to xDSL IR, and diagnostics."""
