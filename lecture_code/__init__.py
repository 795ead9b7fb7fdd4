"""Companion code of the course book *Diffusion Models for Probabilistic Forecasting*.

Every function here is derived in a chapter of the book, and its docstring names the section and
the equation it implements. One module per concept:

Infrastructure (preface):
    :mod:`~lecture_code.seeding` (randomness as a ``torch.Generator``),
    :mod:`~lecture_code.validation` (errors that name the bad value),
    :mod:`~lecture_code.checks` (the assertions behind verified claims),
    :mod:`~lecture_code.cache` (trained models keyed by configuration and code),
    :mod:`~lecture_code.style`, :mod:`~lecture_code.figures` and :mod:`~lecture_code.gallery`
    (one plotting style, the figure registry and its command, the gallery page).

Part I, denoising diffusion (chapters 1-4):
    :mod:`~lecture_code.toy_data`, :mod:`~lecture_code.schedules`, :mod:`~lecture_code.forward`,
    :mod:`~lecture_code.posterior`, :mod:`~lecture_code.elbo`,
    :mod:`~lecture_code.gaussian_reverse`, :mod:`~lecture_code.denoiser`,
    :mod:`~lecture_code.ddpm`, :mod:`~lecture_code.sample_quality`,
    :mod:`~lecture_code.toy_experiment`.

Part II, the score-based view (used by Part III):
    :mod:`~lecture_code.sde`, :mod:`~lecture_code.samplers`.

Part III, probabilistic forecasting (chapters 9-13):
    :mod:`~lecture_code.lorenz96`, :mod:`~lecture_code.lorenz96_data`,
    :mod:`~lecture_code.metrics`, :mod:`~lecture_code.ring_networks`,
    :mod:`~lecture_code.training`, :mod:`~lecture_code.forecasters`,
    :mod:`~lecture_code.benchmark` (``python -m lecture_code.benchmark``).

Plotting lives apart from computation, in the ``plots_*`` modules; a plotting function takes
data and a matplotlib ``Axes`` and returns it.
"""

__version__ = "0.1.0"
