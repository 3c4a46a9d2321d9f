"""alignment.grpo_group_advantage: GRPO's group-normalised advantage with a 0/1 reward.

A group of G answers to one prompt, k of them correct (reward 1), the rest 0. Outcome supervision
(Shao et al. 2024, DeepSeekMath, arXiv:2402.03300, sec. 4.1.2): A_i = (r_i - mean(r)) / std(r), the
same for every token of answer i. The population standard deviation (divide by G) is used here;
with p = k / G, mean = p and std = sqrt(p (1 - p)).
"""

import math


def parts(group: int, correct: int, which: str) -> dict:
    p = correct / group
    std = math.sqrt(p * (1 - p))
    reward = 1.0 if which == "correct" else 0.0
    return {"p": p, "mean": p, "std": std, "reward": reward, "diff": reward - p}


def answer(group: int, correct: int, which: str) -> float:
    q = parts(int(group), int(correct), which)
    return q["diff"] / q["std"]


def steps(group: int, correct: int, which: str) -> dict:
    q = parts(int(group), int(correct), which)
    g = int(group)
    # What torch.std's default (divide by G - 1) would give instead.
    q["std_unbiased"] = q["std"] * math.sqrt(g / (g - 1))
    q["adv_unbiased"] = q["diff"] / q["std_unbiased"]
    return q
