"""Counterfactual attention tests: "is attention explanation?", the intervention half.

* ``permutation``: Jain and Wallace 2019, output change under random permutations of attention.
* ``adversarial_attention``: Jain and Wallace 2019, maximally different attention (JSD) that
  keeps the output within a TVD epsilon.
* ``uniform_attention``: Wiegreffe and Pinter 2019, accuracy with attention made uniform.
* ``verdict``: one per-model verdict from those and the correlation half (Kendall tau).
* ``suite``: all of the above in one call (the pipeline stage and ``attaudit explain
  --counterfactual`` both use it).
* ``adversarial_model``: optional, Wiegreffe and Pinter 2019's adversarial model (a training run).

All of them act through ``attribution.intervention.AttentionIntervention`` and cost forward
passes (and, for the adversarial search, backward passes to the attention only).
"""
