"""Part II, the score-based view (chapters 5-8): the noising process as a stochastic differential
equation, and the samplers that run it backwards.

Chapter -> modules:

- chapter 6, diffusion as an SDE: :mod:`~lecture_code.score.sde`;
- chapter 7, samplers: :mod:`~lecture_code.score.samplers`.

Imports run one way: this package imports the support modules and :mod:`lecture_code.ddpm`.
"""
