"""Part I, denoising diffusion (chapters 1-4): the discrete forward process, its posterior, the
variational bound, the noise predictor and the two algorithms of DDPM.

Chapter -> modules:

- chapter 1, generative models: :mod:`~lecture_code.ddpm.toy_data`;
- chapter 2, the forward process: :mod:`~lecture_code.ddpm.schedules`,
  :mod:`~lecture_code.ddpm.forward`;
- chapter 3, the reverse process and the bound: :mod:`~lecture_code.ddpm.posterior`,
  :mod:`~lecture_code.ddpm.elbo`, :mod:`~lecture_code.ddpm.gaussian_reverse`;
- chapter 4, training and sampling: :mod:`~lecture_code.ddpm.denoiser`,
  :mod:`~lecture_code.ddpm.algorithms`, :mod:`~lecture_code.ddpm.sample_quality`,
  :mod:`~lecture_code.ddpm.experiments`.

Imports run one way: this package imports only the support modules at the top of
:mod:`lecture_code`.
"""
