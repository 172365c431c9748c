"""Compute rules (one element of elementwise / broadcast / injective ops); each module registers with @compute."""
