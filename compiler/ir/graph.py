"""Graph IR: SSA values with use lists, nodes with attributes, and the graph that owns them.

Every edit goes through methods that keep use lists right (as torch.fx's Node does): a node's
inputs are only changed by `Node.set_input`, values are only rewired by `replace_all_uses_with`,
and nodes only leave the graph by `Graph.erase_node`."""
from __future__ import annotations

import contextlib
import itertools
from typing import Iterable, Optional, Sequence

import numpy as np

from .dtypes import from_numpy
from .types import TensorType


class Value:
    """An SSA value: a graph input, a constant (holding its array), or a node output."""
    __slots__ = ("name", "type", "producer", "index", "uses", "data", "is_input")

    def __init__(self, name: str, type: TensorType, producer: "Optional[Node]" = None,
                 index: int = 0, data: Optional[np.ndarray] = None, is_input: bool = False):
        self.name = name
        self.type = type
        self.producer = producer
        self.index = index
        self.uses: list[tuple[Node, int]] = []   # (consumer node, input position)
        self.data = data
        self.is_input = is_input

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def users(self) -> list["Node"]:
        """Distinct consumer nodes, in first-use order."""
        seen: dict[int, Node] = {}
        for n, _ in self.uses:
            seen.setdefault(id(n), n)
        return list(seen.values())

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


class Node:
    __slots__ = ("op", "inputs", "outputs", "attrs", "name", "graph")

    def __init__(self, op: str, attrs: Optional[dict] = None, name: str = ""):
        self.op = op
        self.inputs: list[Optional[Value]] = []
        self.outputs: list[Value] = []
        self.attrs: dict = dict(attrs or {})
        self.name = name
        self.graph: Optional[Graph] = None

    def set_input(self, i: int, value: Optional[Value]) -> None:
        old = self.inputs[i]
        if old is not None:
            old.uses.remove((self, i))
        self.inputs[i] = value
        if value is not None:
            value.uses.append((self, i))

    def _append_input(self, value: Optional[Value]) -> None:
        self.inputs.append(None)
        self.set_input(len(self.inputs) - 1, value)

    def _drop_inputs(self) -> None:
        for i in range(len(self.inputs)):
            self.set_input(i, None)

    @property
    def output(self) -> Value:
        if len(self.outputs) != 1:
            raise ValueError(f"{self.describe()} has {len(self.outputs)} outputs, not one")
        return self.outputs[0]

    def describe(self) -> str:
        """How errors refer to a node: op, name and first result."""
        label = f"'{self.name}' " if self.name else ""
        res = f"%{self.outputs[0].name}" if self.outputs else "(no results)"
        return f"{self.op} node {label}({res})"

    def __repr__(self) -> str:
        return f"<Node {self.describe()}>"


class Graph:
    def __init__(self, name: str = "main"):
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        # The names callers see for the outputs. None means "the value's own name"; a name is
        # pinned when an output's value is replaced, so a pass never renames a model's outputs.
        self._output_names: list[Optional[str]] = []
        self.constants: list[Value] = []
        self.nodes: list[Node] = []
        self.attrs: dict = {}
        self._names: set[str] = set()
        self._counter = itertools.count()
        self._insert_at: Optional[int] = None   # index into nodes; None = append

    # ---- naming -------------------------------------------------------------------------
    def fresh_name(self, hint: Optional[str] = None) -> str:
        if hint and hint not in self._names:
            return hint
        if hint:
            for k in itertools.count(1):
                cand = f"{hint}_{k}"
                if cand not in self._names:
                    return cand
        while True:
            cand = str(next(self._counter))
            if cand not in self._names:
                return cand

    def _claim(self, name: str) -> str:
        if name in self._names:
            raise ValueError(f"value name %{name} is already used in graph @{self.name}")
        self._names.add(name)
        return name

    def rename(self, value: Value, new_name: str) -> None:
        self._names.discard(value.name)
        value.name = self._claim(new_name)

    # ---- building -----------------------------------------------------------------------
    def add_input(self, name: str, type: TensorType) -> Value:
        v = Value(self._claim(name), type, is_input=True)
        self.inputs.append(v)
        return v

    def add_constant(self, data, name: Optional[str] = None) -> Value:
        """Add a constant holding `data` (not copied when already a numpy array; made read-only
        so a shared weight cannot be changed behind the graph's back)."""
        arr = np.asarray(data)
        if arr.flags.writeable:
            arr = arr.view()
            arr.flags.writeable = False
        t = TensorType(from_numpy(arr.dtype), arr.shape)
        v = Value(self._claim(self.fresh_name(name or "c")), t, data=arr)
        self.constants.append(v)
        return v

    def create_node(self, op: str, inputs: Sequence[Optional[Value]], attrs: Optional[dict] = None,
                    output_types: Optional[Sequence[TensorType]] = None, num_outputs: int = 1,
                    name: str = "", output_names: Optional[Sequence[str]] = None) -> Node:
        """Create a node at the insertion point. Output types are inferred from the op's shape
        rule when not given."""
        node = Node(op, attrs, name)
        for v in inputs:
            node._append_input(v)
        if output_types is None:
            from .infer import infer_node_types
            try:
                output_types = infer_node_types(node, num_outputs)
            except Exception:
                node._drop_inputs()
                raise
        names = list(output_names or [])
        for i, t in enumerate(output_types):
            hint = names[i] if i < len(names) else None
            node.outputs.append(Value(self._claim(self.fresh_name(hint)), t, node, i))
        node.graph = self
        if self._insert_at is None:
            self.nodes.append(node)
        else:
            self.nodes.insert(self._insert_at, node)
            self._insert_at += 1
        return node

    def op(self, op: str, *inputs: Optional[Value], n_outputs: int = 1, name: str = "",
           **attrs):
        """Builder shorthand: `y = g.op("Add", a, b)`; several outputs come back as a tuple.
        (`n_outputs`, not `num_outputs`, which is an attribute of Split.)"""
        node = self.create_node(op, list(inputs), attrs, num_outputs=n_outputs, name=name)
        return node.outputs[0] if len(node.outputs) == 1 else tuple(node.outputs)

    def set_outputs(self, values: Iterable[Value], names: Optional[Sequence[str]] = None) -> None:
        """Set the graph results; `names` (default: the values' names) are what callers see."""
        self.outputs = list(values)
        if names is None:
            self._output_names = [None] * len(self.outputs)
        else:
            if len(names) != len(self.outputs):
                raise ValueError(f"{len(self.outputs)} outputs but {len(names)} names")
            self._output_names = [None if n == v.name else n for n, v in zip(names, self.outputs)]

    @property
    def output_names(self) -> list[str]:
        return [n if n is not None else v.name for n, v in zip(self._output_names, self.outputs)]

    @contextlib.contextmanager
    def inserting_before(self, node: Node):
        saved = self._insert_at
        self._insert_at = self.nodes.index(node)
        try:
            yield
        finally:
            self._insert_at = saved

    @contextlib.contextmanager
    def inserting_after(self, node: Node):
        saved = self._insert_at
        self._insert_at = self.nodes.index(node) + 1
        try:
            yield
        finally:
            self._insert_at = saved

    # ---- editing ------------------------------------------------------------------------
    def replace_all_uses_with(self, old: Value, new: Value) -> int:
        """Point every use of `old` (node inputs and graph outputs) at `new`; returns the count."""
        if old is new:
            return 0
        count = 0
        for node, i in list(old.uses):
            node.set_input(i, new)
            count += 1
        for k, o in enumerate(self.outputs):
            if o is old:
                name = self._output_names[k] or old.name
                self.outputs[k] = new
                self._output_names[k] = None if name == new.name else name
                count += 1
        return count

    def erase_node(self, node: Node) -> None:
        """Remove a node whose results are unused (neither by nodes nor as graph outputs)."""
        for v in node.outputs:
            if v.uses or any(o is v for o in self.outputs):
                users = ", ".join(u.describe() for u in v.users) or "a graph output"
                raise ValueError(f"cannot erase {node.describe()}: %{v.name} is still used by {users}")
        node._drop_inputs()
        self.nodes.remove(node)
        for v in node.outputs:
            self._names.discard(v.name)
        node.graph = None

    def erase_constant(self, value: Value) -> None:
        if value.uses or any(o is value for o in self.outputs):
            raise ValueError(f"cannot erase constant %{value.name}: it is still used")
        self.constants.remove(value)
        self._names.discard(value.name)

    # ---- queries ------------------------------------------------------------------------
    def values(self) -> Iterable[Value]:
        yield from self.inputs
        yield from self.constants
        for n in self.nodes:
            yield from n.outputs

    def value(self, name: str) -> Value:
        for v in self.values():
            if v.name == name:
                return v
        raise KeyError(f"no value %{name} in graph @{self.name}")

    def weights(self) -> dict[str, np.ndarray]:
        return {c.name: c.data for c in self.constants}

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return dict(sorted(counts.items()))

    def clone(self) -> "Graph":
        """A structural copy; constant arrays are shared, not copied (they are read-only)."""
        g = Graph(self.name)
        g.attrs = dict(self.attrs)
        vmap: dict[int, Value] = {}
        for v in self.inputs:
            vmap[id(v)] = g.add_input(v.name, v.type)
        for c in self.constants:
            vmap[id(c)] = g.add_constant(c.data, c.name)
        for n in self.nodes:
            attrs = {k: (a.clone() if isinstance(a, Graph) else a) for k, a in n.attrs.items()}
            new = g.create_node(n.op, [vmap[id(v)] if v is not None else None for v in n.inputs],
                                attrs, [o.type for o in n.outputs], name=n.name,
                                output_names=[o.name for o in n.outputs])
            for o, no in zip(n.outputs, new.outputs):
                vmap[id(o)] = no
        g.set_outputs([vmap[id(o)] for o in self.outputs], self.output_names)
        return g

    def __str__(self) -> str:
        from .printer import print_graph
        return print_graph(self)

    def __repr__(self) -> str:
        return (f"<Graph @{self.name}: {len(self.inputs)} inputs, {len(self.constants)} constants, "
                f"{len(self.nodes)} nodes>")
