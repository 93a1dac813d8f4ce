"""Rollout and gradient-weighted relevance against matrices computed by hand."""

from __future__ import annotations

import torch

from attribution.explainers.attention_math import gradient_weighted_relevance, rollout

# two heads whose mean is [[0.6, 0.4], [0.2, 0.8]]
LAYER1 = torch.tensor([[[1.0, 0.0], [0.2, 0.8]], [[0.2, 0.8], [0.2, 0.8]]])
LAYER2 = torch.tensor([[[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.5, 0.5]]])


def test_rollout_two_layer_toy_equals_hand_matrix():
    # A_hat1 = 0.5*[[.6,.4],[.2,.8]] + 0.5*I = [[.8,.2],[.1,.9]]
    # A_hat2 = 0.5*[[1,0],[.5,.5]] + 0.5*I = [[1,0],[.25,.75]]
    # R = A_hat2 @ A_hat1 = [[.8,.2],[.25*.8+.75*.1, .25*.2+.75*.9]] = [[.8,.2],[.275,.725]]
    got = rollout(torch.stack([LAYER1, LAYER2]))
    assert torch.allclose(got, torch.tensor([[0.8, 0.2], [0.275, 0.725]]), atol=1e-6)
    assert torch.allclose(got.sum(-1), torch.ones(2))


def test_gradient_weighted_relevance_equals_hand_matrix():
    g1 = torch.tensor([[[1.0, -1.0], [2.0, 0.0]], [[-1.0, 1.0], [0.0, 1.0]]])
    # (g*A)^+ head 1 = [[1,0],[.4,0]], head 2 = [[0,.8],[0,.8]] -> mean [[.5,.4],[.2,.4]]
    # R1 = I + Abar1 = [[1.5,.4],[.2,1.4]]
    # layer 2: grads 1, so Abar2 = mean_h A = [[1,0],[.5,.5]]; R2 = R1 + Abar2 @ R1
    #   Abar2 @ R1 = [[1.5,.4],[.5*1.5+.5*.2, .5*.4+.5*1.4]] = [[1.5,.4],[.85,.9]]
    one = gradient_weighted_relevance(LAYER1[None], g1[None])
    assert torch.allclose(one, torch.tensor([[1.5, 0.4], [0.2, 1.4]]), atol=1e-6)
    two = gradient_weighted_relevance(torch.stack([LAYER1, LAYER2]), torch.stack([g1, torch.ones(2, 2, 2)]))
    assert torch.allclose(two, torch.tensor([[3.0, 0.8], [1.05, 2.3]]), atol=1e-6)
