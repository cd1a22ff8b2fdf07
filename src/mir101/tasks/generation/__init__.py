"""Note generation: an autoregressive Transformer on codec tokens, and a rectified flow on codec latents.

Book page: ``book/generation.md``.
"""

from mir101.tasks.generation.task import FAMILIES, Generation, GenerationOptions, LatentFlow

__all__ = ["Generation", "GenerationOptions", "FAMILIES", "LatentFlow"]
