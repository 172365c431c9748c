"""Tests of the loop IR and the LLVM backend."""
