"""The numpy reference interpreter: executes graph IR directly; the oracle for every pass."""
from .interpreter import run_graph

__all__ = ["run_graph"]
