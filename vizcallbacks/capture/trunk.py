"""The trunk of a model's layer graph: the layers a reader of the architecture follows from
the input to the output, as opposed to a block's inside and its side branches.

The default columns (`layers.py`) are the last layer of each stage of resolution *on the
trunk*, so that a squeeze-and-excite branch (`block2b_se_expand`, 1x1x144), the layers
inside an auxiliary head (its output is shown, as every output) or the convolutions inside a
residual block never stand for a stage.

The rule, on the graph of the layers' calls (a single start before every input, a single
end after every output):

1. A layer that every path from the inputs to the outputs passes through (a dominator of
   the end) is on the trunk: the stem, each block's merge (a residual `add`, an Inception
   `concatenate`, a squeeze-and-excite `multiply`), a block's projection, the head.
2. Between two such layers the branches usually rejoin at the resolution they left (a
   residual block, an Inception block, a squeeze-and-excite branch): that is a block's
   inside, not the trunk. Where the longest branch passes through a resolution that neither
   end has, coarser than one of theirs (a U-Net's encoder and decoder between its skip
   connections; NASNet's cells, each fed by the two before it; not a padding), that
   branch's layers with a resolution are on the trunk too; and so are those of each
   input's branch before the inputs merge, and each head's after the outputs split.
3. A layer whose output is one value per channel (a vector, maps of 1x1) is on the trunk
   by rule 1 only: a squeeze-and-excite's pooling is a branch, a classifier's head is not.
4. Each output of the model is on the trunk: it is what the model gives.

The graph is read from a functional model's nodes. A Sequential model is a chain (every
layer is on it) and a subclassed model has no graph to read: for both, `trunk_layers`
returns None and every layer counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LayerGraph", "layer_graph", "trunk_nodes", "trunk_layers"]


@dataclass(frozen=True)
class LayerGraph:
    """The calls of a model as a graph, in an order where each node comes after its
    parents. Node 0 is a start before every input, the last node an end after every output.

    Args:
        parents: each node's parents (lower numbers); the start has none.
        layers: each node's layer, as an index into `model_layers(model)`; None for the
            start, the end, an input and an operation that is not one of the model's layers.
        resolutions: each node's output resolution, its spatial sizes on a log2 scale
            (see `resolution`); None where the output has none (a vector, maps of 1x1, not
            one tensor).
        outputs: the nodes that give the model's outputs.
    """

    parents: tuple[tuple[int, ...], ...]
    layers: tuple[int | None, ...]
    resolutions: tuple[tuple[int, ...] | None, ...]
    outputs: tuple[int, ...]


def resolution(shape: Sequence[int | None] | None) -> tuple[int, ...] | None:
    """The spatial sizes of an output of `shape` (one input's, no batch axis) rounded on a
    log2 scale, so that a padding layer's 49x49 counts with the 48x48 around it; None for an
    output without space: a vector, maps of 1x1, a sequence of one step, an unknown size.

    Args:
        shape: the output's shape for one input, channels last.

    Returns:
        One rounded log2 per spatial axis, or None.
    """
    if shape is None or len(shape) < 2 or any(size is None for size in shape[:-1]):
        return None
    sizes = tuple(int(size) for size in shape[:-1])
    if math.prod(sizes) <= 1:
        return None
    return tuple(round(math.log2(max(size, 1))) for size in sizes)


def _output_shape(node) -> tuple | None:
    outputs = list(getattr(node, "outputs", None) or ())
    if len(outputs) != 1 or getattr(outputs[0], "shape", None) is None:
        return None
    return tuple(outputs[0].shape)[1:]


def _output_nodes(model, nodes: list) -> set[int]:
    """The ids of the nodes that give `model.outputs`."""
    found = set()
    for tensor in model.outputs:
        history = getattr(tensor, "_keras_history", None)  # (operation, node index, tensor index)
        if history is not None:
            found.add(id(history[0]._inbound_nodes[history[1]]))
    return found & {id(node) for node in nodes}


def layer_graph(model, layers: Sequence) -> LayerGraph | None:
    """The graph of a functional model's calls, read from the nodes Keras keeps for it.

    Args:
        model: a keras.Model.
        layers: the watched layers (`model_layers(model)`): a node's layer is its index here.

    Returns:
        The graph; None for a model without one to read (Sequential, subclassed) or one
        Keras does not keep as this version of it does.
    """
    by_depth = getattr(model, "_nodes_by_depth", None)  # Keras 3's Functional keeps its graph here
    if not isinstance(by_depth, dict) or not by_depth:
        return None
    try:
        # A node's depth is its distance from the outputs: parents are deeper.
        nodes = [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]
        number = {id(node): position for position, node in enumerate(nodes, start=1)}
        parents = [()] + [tuple(sorted({number[id(parent)] for parent in node.parent_nodes if id(parent) in number}))
                          for node in nodes]
        outputs = _output_nodes(model, nodes)
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    index_of = {id(layer): index for index, layer in enumerate(layers)}
    end = len(nodes) + 1
    outputs = tuple(number[id(node)] for node in nodes if id(node) in outputs) or tuple(
        node for node in range(1, end) if not any(node in p for p in parents))
    parents = [p if p or node == 0 else (0,) for node, p in enumerate(parents)] + [outputs]
    return LayerGraph(
        parents=tuple(parents),
        layers=(None, *(index_of.get(id(node.operation)) for node in nodes), None),
        resolutions=(None, *(resolution(_output_shape(node)) for node in nodes), None),
        outputs=outputs)


def _meet(dominator: list[int], first: int, second: int) -> int:
    """The nearest common dominator of two nodes (numbers in topological order)."""
    while first != second:
        while first > second:
            first = dominator[first]
        while second > first:
            second = dominator[second]
    return first


def _dominators_of_end(graph: LayerGraph) -> set[int]:
    """The nodes every path from the start to the end passes through (the end's dominators,
    found with the immediate dominator of each node, in one pass over a DAG)."""
    dominator = [0] * len(graph.parents)
    for node in range(1, len(graph.parents)):
        parents = graph.parents[node]
        found = parents[0]
        for parent in parents[1:]:
            found = _meet(dominator, found, parent)
        dominator[node] = found
    chain, node = {0}, len(graph.parents) - 1
    while node:
        chain.add(node)
        node = dominator[node]
    return chain


def _longest_path(graph: LayerGraph) -> list[int]:
    """The nodes of a longest path (in calls) from the start to the end."""
    length, previous = [0] * len(graph.parents), [0] * len(graph.parents)
    for node in range(1, len(graph.parents)):
        previous[node] = max(graph.parents[node], key=lambda parent: length[parent])
        length[node] = length[previous[node]] + 1
    path = [len(graph.parents) - 1]
    while path[-1]:
        path.append(previous[path[-1]])
    return path[::-1]


def trunk_nodes(graph: LayerGraph) -> set[int]:
    """The graph's trunk, by the rule in this module's docstring.

    Args:
        graph: a model's calls (`layer_graph`).

    Returns:
        The numbers of the nodes on the trunk, the start and the end among them.
    """
    dominators = _dominators_of_end(graph)
    trunk = set(dominators) | set(graph.outputs)
    path = _longest_path(graph)
    start = 0
    for step, node in enumerate(path):
        if node not in dominators or step == start:
            continue
        inside = path[start + 1:step]
        # Before the first merge of several inputs, or after the split into several
        # outputs, each branch is its input's or its head's own trunk.
        own = start == 0 or step == len(path) - 1
        ends = [graph.resolutions[path[start]], graph.resolutions[node]]
        if own or any(_coarser(graph.resolutions[n], ends) for n in inside):
            trunk.update(n for n in inside if graph.resolutions[n] is not None)
        start = step
    return trunk


def _coarser(found: tuple[int, ...] | None, ends: Sequence[tuple[int, ...] | None]) -> bool:
    """Whether a branch goes to a resolution that neither end has, coarser than at least one
    end's: down and back up (a U-Net), or down by steps of its own between a fine start
    and a coarse end (NASNet's cells); a branch that only pads (a residual branch's
    `ZeroPadding2D`, 6x6 between 4x4s, 3x3 between 1x1s) does not count."""
    return found is not None and found not in ends and any(
        end is not None and sum(found) < sum(end) for end in ends)


def trunk_layers(model, layers: Sequence) -> frozenset[int] | None:
    """The layers on a model's trunk (see the module's docstring for the rule).

    >>> sorted(trunk_layers(model, model_layers(model)))   # indices into model_layers(model)

    Args:
        model: a keras.Model.
        layers: the watched layers (`model_layers(model)`).

    Returns:
        Indices into `layers`; None where the model has no graph to read (every layer
        counts then).
    """
    graph = layer_graph(model, layers)
    if graph is None:
        return None
    return frozenset(graph.layers[node] for node in trunk_nodes(graph) if graph.layers[node] is not None)
