"""Attribution tree: the information-flow tree of self-attention attribution, any depth.

Hao et al., "Self-Attention Attribution: Interpreting Information Interactions Inside
Transformer", AAAI 2021, section 4.3 (https://arxiv.org/abs/2004.11207).

For every layer the head-summed attribution matrix ``S_l`` (T, T) (query row i, key column j)
is normalised by its maximum outside the [CLS] query row (row 0), edges whose normalised score
is above ``tau`` are kept, and the tree is grown top-down from the top node (the [CLS] token at
the output of the last layer): at layer l every token already in the tree (a "parent" i)
takes as children the tokens j it attends to with ``S_l[i, j] > tau``.

Departures from the reference code (which hard-codes 12 layers and prints a graph):
- any number of layers; output is plain nodes and edges (layer, token, score) for drawing;
- a token joins the tree once, at the highest layer where an edge reaches it; if several
  parents reach a new token in the same layer the highest-scoring edge wins, so the result is
  a tree (so self edges i == j, the residual path, never appear: the token is already in it);
- if a layer's maximum outside the [CLS] row is not positive, the maximum absolute value is
  used so the normalisation never divides by zero or flips signs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from attribution.errors import AttributionInputError


@dataclass
class TreeNode:
    token_index: int
    token: str
    layer: int  # the node exists from the output of this layer downwards; top node: L


@dataclass
class TreeEdge:
    layer: int  # 0-based layer whose attention carries the edge
    parent: int  # query token index (closer to the output)
    child: int  # key token index (closer to the input)
    parent_token: str
    child_token: str
    score: float  # normalised score (> tau)


@dataclass
class AttributionTree:
    tokens: list[str]
    tau: float
    root: int
    nodes: list[TreeNode] = field(default_factory=list)
    edges: list[TreeEdge] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "tau": self.tau,
            "root": self.root,
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
        }


def normalise_layers(summed: torch.Tensor) -> torch.Tensor:
    """Divide each layer's (T, T) matrix by its maximum outside the [CLS] query row."""
    if summed.dim() != 3 or summed.shape[1] != summed.shape[2]:
        raise AttributionInputError(f"expected head-summed scores (L, T, T), got {tuple(summed.shape)}")
    out = torch.empty_like(summed, dtype=torch.float32)
    for layer, mat in enumerate(summed.float()):
        rest = mat[1:] if mat.shape[0] > 1 else mat  # (T-1, T)
        denom = rest.max()
        if denom <= 0:
            denom = mat.abs().max()
        out[layer] = mat / denom if denom > 0 else torch.zeros_like(mat)
    return out


class AttributionTreeBuilder:
    """Build attribution trees from head-summed attribution scores (L, T, T)."""

    def __init__(self, *, tau: float = 0.4, root: int = 0) -> None:
        if not 0.0 <= tau:
            raise AttributionInputError(f"tau must be >= 0, got {tau}")
        self.tau = tau
        self.root = root

    def build(self, summed: torch.Tensor, *, tokens: list[str]) -> AttributionTree:
        """Grow the tree top-down from ``root`` at the last layer; summed is (L, T, T)."""
        norm = normalise_layers(summed)  # (L, T, T)
        num_layers, seq, _ = norm.shape
        if len(tokens) != seq:
            raise AttributionInputError(f"{len(tokens)} tokens for a {seq}-token score matrix")
        if not 0 <= self.root < seq:
            raise AttributionInputError(f"root {self.root} outside 0..{seq - 1}")
        tree = AttributionTree(tokens=list(tokens), tau=self.tau, root=self.root)
        tree.nodes.append(TreeNode(self.root, tokens[self.root], num_layers))
        active = [self.root]
        for layer in range(num_layers - 1, -1, -1):
            best: dict[int, tuple[float, int]] = {}  # child -> (score, parent)
            for parent in active:
                for child in range(seq):
                    if child in active:
                        continue
                    score = float(norm[layer, parent, child])
                    if score > self.tau and (child not in best or score > best[child][0]):
                        best[child] = (score, parent)
            for child in sorted(best):
                score, parent = best[child]
                tree.nodes.append(TreeNode(child, tokens[child], layer))
                tree.edges.append(
                    TreeEdge(layer, parent, child, tokens[parent], tokens[child], score)
                )
            active.extend(sorted(best))
        return tree
