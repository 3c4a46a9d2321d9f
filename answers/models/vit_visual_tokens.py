"""models.vit_visual_tokens: how many tokens a ViT makes of an image.

Non-overlapping P x P patches of an H x H image: (H / P)^2 patch tokens (Dosovitskiy et al. 2021,
arXiv:2010.11929, sec. 3.1), plus one [class] token in a ViT classifier; LLaVA feeds the patch
features alone to the LLM (LLaVA-1.5: 336 px, patch 14, 576 tokens). Attention then has N^2 scores
per head and layer.
"""


def parts(image: int, patch: int, cls_token: str) -> dict:
    grid = image // patch
    tokens = grid * grid + (1 if cls_token == "yes" else 0)
    return {"grid": grid, "patches": grid * grid, "tokens": tokens, "scores": tokens * tokens}


def answer(image: int, patch: int, cls_token: str) -> float:
    return float(parts(int(image), int(patch), cls_token)["tokens"])


def steps(image: int, patch: int, cls_token: str) -> dict:
    return {k: float(v) for k, v in parts(int(image), int(patch), cls_token).items()}
