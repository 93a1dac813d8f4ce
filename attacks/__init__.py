"""attacks: trigger mining, insertion, batched attack, the TextAttack recipe and baselines."""
