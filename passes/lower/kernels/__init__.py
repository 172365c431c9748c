"""Kernel rules (loop nests): one module per op family; each registers with @kernel."""
