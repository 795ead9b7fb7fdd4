"""Part II, the score-based view (chapters 5-8): the noising process as a stochastic differential
equation, and the samplers that run it backwards.

Chapter -> modules:

- chapter 5, score matching: the conversions between the noise, the clean data and the score
  (Tweedie's formula) are :mod:`lecture_code.ddpm.conversions`, shared with Part I;
- chapter 6, diffusion as an SDE: :mod:`~lecture_code.score.sde`;
- chapter 7, samplers: :mod:`~lecture_code.score.samplers`.

The argument order is that of Part I (see :mod:`lecture_code.ddpm`): the process holds its
coefficients as methods, and functions take it first, after the model.

Imports run one way: this package imports the support modules and :mod:`lecture_code.ddpm`.
"""
