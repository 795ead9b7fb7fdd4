"""Companion code of the course book *Diffusion Models for Probabilistic Forecasting*.

Every function here is derived in a chapter of the book, and its docstring names the section and
the equation it implements. One module per concept:

Infrastructure (preface):
    :mod:`~lecture_code.seeding` (randomness as a ``torch.Generator``),
    :mod:`~lecture_code.validation` (errors that name the bad value),
    :mod:`~lecture_code.checks` (the assertions behind verified claims),
    :mod:`~lecture_code.cache` (trained models keyed by configuration and code),
    :mod:`~lecture_code.plots.style`, :mod:`~lecture_code.figures` and
    :mod:`~lecture_code.figures.gallery`
    (one plotting style, the figure registry and its command, the gallery page).

Part I, denoising diffusion (chapters 1-4):
    :mod:`~lecture_code.ddpm.toy_data`, :mod:`~lecture_code.ddpm.schedules`,
    :mod:`~lecture_code.ddpm.forward`,
    :mod:`~lecture_code.ddpm.posterior`, :mod:`~lecture_code.ddpm.elbo`,
    :mod:`~lecture_code.ddpm.gaussian_reverse`, :mod:`~lecture_code.ddpm.denoiser`,
    :mod:`~lecture_code.ddpm.algorithms`, :mod:`~lecture_code.ddpm.sample_quality`,
    :mod:`~lecture_code.ddpm.experiments`.

Part II, the score-based view (used by Part III):
    :mod:`~lecture_code.score.sde`, :mod:`~lecture_code.score.samplers`.

Part III, probabilistic forecasting (chapters 9-13):
    :mod:`~lecture_code.forecasting.lorenz96`, :mod:`~lecture_code.forecasting.data`,
    :mod:`~lecture_code.forecasting.metrics`, :mod:`~lecture_code.forecasting.networks`,
    :mod:`~lecture_code.forecasting.fit`, :mod:`~lecture_code.forecasting.forecasters`,
    :mod:`~lecture_code.benchmark.run` (``python -m lecture_code.benchmark``).

Plotting lives apart from computation, in the ``plots_*`` modules; a plotting function takes
data and a matplotlib ``Axes`` and returns it.
"""

__version__ = "0.1.0"
