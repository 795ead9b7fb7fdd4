"""Part II, the score-based view (chapters 5-8): the noising process as a stochastic differential
equation, and the samplers that run it backwards.

Chapter -> modules:

- chapter 5, score matching: :mod:`~lecture_code.score.score_matching` (ESM, ISM, DSM,
  Tweedie's posterior mean by importance sampling), :mod:`~lecture_code.score.langevin`
  (Langevin and annealed Langevin dynamics), :mod:`~lecture_code.score.score_network` (a
  noise-conditional score network trained by DSM); the conversions between the noise, the clean
  data and the score are :mod:`lecture_code.ddpm.conversions`, shared with Part I;
- chapter 6, stochastic differential equations: :mod:`~lecture_code.score.brownian`
  (Euler–Maruyama and its orders), :mod:`~lecture_code.score.fokker_planck`,
  :mod:`~lecture_code.score.processes` (the ``NoiseProcess`` protocol, the VE process, NCSN's
  chain), :mod:`~lecture_code.score.sde` (the VP-SDE), :mod:`~lecture_code.score.likelihood`
  (reverse SDE, probability-flow ODE, exact likelihoods);
- chapter 7, samplers: :mod:`~lecture_code.score.samplers` (the registry),
  :mod:`~lecture_code.score.grids`, :mod:`~lecture_code.score.denoisers`,
  :mod:`~lecture_code.score.ode_samplers`, :mod:`~lecture_code.score.sde_samplers`,
  :mod:`~lecture_code.score.sampler_error`;
- chapter 8, conditional diffusion: :mod:`~lecture_code.score.guidance` (classifier and
  classifier-free guidance as denoiser transforms, the tilted law of the labelled mixture),
  :mod:`~lecture_code.score.random_fields` (periodic Gaussian random fields, block averages and
  their exact conditional), :mod:`~lecture_code.score.super_resolution` (the exact and the
  learned conditional denoiser of a field, outpainting).

The argument order is that of Part I (see :mod:`lecture_code.ddpm`): the process holds its
coefficients as methods, and functions take it first, after the model.

Imports run one way: this package imports the support modules and :mod:`lecture_code.ddpm`.
"""
