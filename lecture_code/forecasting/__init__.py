"""Part III, probabilistic forecasting of a chaotic system (chapters 9-12 and 14).

Chapter -> modules:

- chapter 9, Lorenz-96 and chaos: :mod:`~lecture_code.forecasting.lorenz96` (the system, its
  integrator and the stochastic truth), :mod:`~lecture_code.forecasting.bursts` (the burst
  forcing of the bursty truth), :mod:`~lecture_code.forecasting.chaos` (the tangent
  linear model, Lyapunov exponents, error growth), :mod:`~lecture_code.forecasting.data`;
- chapter 10, scoring probabilistic forecasts: :mod:`~lecture_code.forecasting.metrics` (CRPS,
  energy score), :mod:`~lecture_code.forecasting.calibration` (spread-skill, rank histograms,
  PIT), :mod:`~lecture_code.forecasting.bootstrap` (intervals over initial states);
- chapters 11 and 12, the forecasters: :mod:`~lecture_code.forecasting.networks`,
  :mod:`~lecture_code.forecasting.losses`, :mod:`~lecture_code.forecasting.fit`,
  :mod:`~lecture_code.forecasting.trained` (the cached networks),
  :mod:`~lecture_code.forecasting.forecasters` (the protocol, the rollout, the oracle and
  climatology), :mod:`~lecture_code.forecasting.baselines`,
  :mod:`~lecture_code.forecasting.diffusion_forecaster`.

Imports run one way: this package imports the support modules, :mod:`lecture_code.ddpm` and
:mod:`lecture_code.score`.
"""
