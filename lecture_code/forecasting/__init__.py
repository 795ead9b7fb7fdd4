"""Part III, probabilistic forecasting of a chaotic system (chapters 9-12 and 14).

Chapter -> modules:

- chapter 9, Lorenz-96 and chaos: :mod:`~lecture_code.forecasting.lorenz96`,
  :mod:`~lecture_code.forecasting.data`;
- chapter 10, scoring probabilistic forecasts: :mod:`~lecture_code.forecasting.metrics`;
- chapters 11 and 12, the forecasters: :mod:`~lecture_code.forecasting.networks`,
  :mod:`~lecture_code.forecasting.fit`, :mod:`~lecture_code.forecasting.forecasters`.

Imports run one way: this package imports the support modules, :mod:`lecture_code.ddpm` and
:mod:`lecture_code.score`.
"""
