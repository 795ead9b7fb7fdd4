"""Part I, denoising diffusion (chapters 1-4): the discrete forward process, its posterior, the
variational bound, the noise predictor and the two algorithms of DDPM.

Chapter -> modules:

- chapter 1, generative models: :mod:`~lecture_code.ddpm.toy_data`,
  :mod:`~lecture_code.ddpm.mixture`;
- chapter 2, the forward process: :mod:`~lecture_code.ddpm.schedules`,
  :mod:`~lecture_code.ddpm.forward`;
- chapter 3, the reverse process and the bound: :mod:`~lecture_code.ddpm.posterior`,
  :mod:`~lecture_code.ddpm.elbo`, :mod:`~lecture_code.ddpm.gaussian_reverse`;
- chapter 4, training and sampling: :mod:`~lecture_code.ddpm.denoiser`,
  :mod:`~lecture_code.ddpm.algorithms`, :mod:`~lecture_code.ddpm.sample_quality`,
  :mod:`~lecture_code.ddpm.experiments`, :mod:`~lecture_code.ddpm.network_bound`;
- chapters 3-5, the conversions between the noise, the clean data (the denoiser D) and the
  score, used by Parts I and II alike: :mod:`~lecture_code.ddpm.conversions`.

Argument order in Parts I and II: a process (a :class:`~lecture_code.ddpm.schedules.NoiseSchedule`
or a :class:`~lecture_code.score.sde.VPSDE`) holds its coefficients, the functions of the step or
time listed in the notation table, as properties or methods (``schedule.alpha_bar``,
``sde.sigma(t)``); every other function that needs a process takes it as an argument, first, or
second after the model (a network, a noise predictor, a score or a reverse mean) when there is
one; then the tensors; then the randomness (``eps`` or ``generator``) and the options:
``q_sample(schedule, x_0, t, eps)``, ``ancestral_sample(eps_model, schedule, x_T, generator)``,
``euler_maruyama(score_fn, sde, x_T, n_steps, generator)``. The conversions take the
coefficients themselves, :math:`a` and :math:`\\sigma`, so that they serve every process.

Imports run one way: this package imports only the support modules at the top of
:mod:`lecture_code`.
"""
