"""A small graph builder over onnx.helper: unique names, constants, named nodes.

Feature modules call `g.op("Where", cond, a, b, name="tenure/impute")` and get
back the output tensor name; the builder names every node (so onnxruntime
errors say which feature failed) and stores constants as initializers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: The opsets every tk graph is written against (proven in ONNX_RECIPES.md).
OPSETS = {"": 20, "ai.onnx.ml": 4, "com.microsoft": 1}
IR_VERSION = 10

ELEM_TYPES = {
    "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE,
    "int64": TensorProto.INT64,
    "string": TensorProto.STRING,
    "bool": TensorProto.BOOL,
}


def tensor(name: str, value: Any, dtype: str | None = None) -> TensorProto:
    """A TensorProto from a Python/numpy value; strings become ONNX STRING."""
    arr = np.asarray(value, dtype=object if dtype == "string" else dtype)
    if dtype == "string" or arr.dtype.kind in "OUS":
        flat = [str(v).encode("utf-8") for v in arr.ravel()]
        return helper.make_tensor(name, TensorProto.STRING, list(arr.shape), flat)
    return numpy_helper.from_array(arr, name)


class GraphBuilder:
    """Collects inputs, nodes, constants and outputs; `build()` makes a ModelProto."""

    def __init__(self, name: str = "tk"):
        self.name = name
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.value_info: list[onnx.ValueInfoProto] = []
        self._used: set[str] = set()

    def unique(self, hint: str) -> str:
        """A tensor/node name based on `hint` that is not used yet."""
        name, k = hint, 1
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def input(self, name: str, dtype: str, shape: list) -> str:
        """Declare a graph input, e.g. `g.input("tenure", "float32", ["N"])`."""
        if name in self._used:
            raise ValueError(f"graph input {name!r} declared twice")
        self._used.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, ELEM_TYPES[dtype], shape))
        return name

    def output(self, name: str, dtype: str, shape: list) -> str:
        """Declare an existing tensor as a graph output."""
        self.outputs.append(helper.make_tensor_value_info(name, ELEM_TYPES[dtype], shape))
        return name

    def declare(self, name: str, dtype: str, shape: list) -> None:
        """Record an intermediate tensor's type (needed after Tokenizer, see DESIGN.md)."""
        self.value_info.append(helper.make_tensor_value_info(name, ELEM_TYPES[dtype], shape))

    def const(self, value: Any, dtype: str | None = None, name: str = "const") -> str:
        """Add a constant initializer and return its name."""
        unique = self.unique(name)
        self.initializers.append(tensor(unique, value, dtype))
        return unique

    def op(
        self, op_type: str, *inputs: str, name: str, outputs: int | list[str] = 1, domain: str = "", **attrs: Any
    ) -> Any:
        """Append one node; returns its output name (or a tuple when several).

        `name` is a readable hint such as "tenure/impute"; it names the node and
        its outputs. `outputs` may give exact output names (for graph outputs).
        """
        if isinstance(outputs, int):
            out_names = [self.unique(name if outputs == 1 else f"{name}:{i}") for i in range(outputs)]
        else:
            out_names = list(outputs)
            self._used.update(out_names)
        node_name = self.unique(f"{op_type}[{name}]")
        self.nodes.append(helper.make_node(op_type, list(inputs), out_names, name=node_name, domain=domain, **attrs))
        return out_names[0] if len(out_names) == 1 else tuple(out_names)

    def build(self, doc: str = "") -> onnx.ModelProto:
        """The ModelProto, with tk's opsets and IR version."""
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, initializer=self.initializers, value_info=self.value_info
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
            producer_name="tk",
            doc_string=doc,
        )
        model.ir_version = IR_VERSION
        return model


def set_opset(model, domain: str, version: int):
    """`model` importing `domain` at `version` (in place; returned). onnx.compose joins only graphs
    whose opsets agree: the pre and post graphs take the core's ai.onnx.ml version (trees need 5)."""
    for op in model.opset_import:
        if op.domain == domain:
            op.version = version
            return model
    model.opset_import.append(helper.make_opsetid(domain, version))
    return model
