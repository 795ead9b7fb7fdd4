"""Companion code of the course book *Diffusion Models for Probabilistic Forecasting*.

The package mirrors the book: one folder per Part, one module per concept, and every module's
docstring names the chapter, section and equations it implements. This is the map.

**Support** (preface, "Running the code"), imported by everything:
    :mod:`~lecture_code.seeding` (randomness as a ``torch.Generator``),
    :mod:`~lecture_code.validation` (errors that name the bad value),
    :mod:`~lecture_code.verification` (the assertions behind the book's verified claims),
    :mod:`~lecture_code.cache` (trained models keyed by configuration and code),
    :mod:`~lecture_code.runtime` (torch threads, progress bars that keep logs readable).

**Part I, denoising diffusion** -- :mod:`lecture_code.ddpm`:
    chapter 1, generative models: :mod:`~lecture_code.ddpm.toy_data`,
    :mod:`~lecture_code.ddpm.mixture`;
    chapter 2, the forward process: :mod:`~lecture_code.ddpm.schedules`,
    :mod:`~lecture_code.ddpm.forward`;
    chapter 3, the reverse process and the bound: :mod:`~lecture_code.ddpm.posterior`,
    :mod:`~lecture_code.ddpm.gaussian_kl`, :mod:`~lecture_code.ddpm.elbo`,
    :mod:`~lecture_code.ddpm.gaussian_reverse`,
    :mod:`~lecture_code.ddpm.conversions`;
    chapter 4, training and sampling: :mod:`~lecture_code.ddpm.denoiser`,
    :mod:`~lecture_code.ddpm.algorithms`, :mod:`~lecture_code.ddpm.sample_quality`,
    :mod:`~lecture_code.ddpm.experiments`, :mod:`~lecture_code.ddpm.network_bound`.

**Part II, the score-based view** -- :mod:`lecture_code.score`:
    chapter 5, score matching: :mod:`~lecture_code.score.score_matching`,
    :mod:`~lecture_code.score.langevin`, :mod:`~lecture_code.score.score_network`;
    chapter 6, diffusion as an SDE: :mod:`~lecture_code.score.sde`,
    :mod:`~lecture_code.score.brownian`, :mod:`~lecture_code.score.fokker_planck`,
    :mod:`~lecture_code.score.processes`, :mod:`~lecture_code.score.likelihood`;
    chapter 7, samplers: :mod:`~lecture_code.score.samplers`,
    :mod:`~lecture_code.score.grids`, :mod:`~lecture_code.score.denoisers`,
    :mod:`~lecture_code.score.ode_samplers`, :mod:`~lecture_code.score.sde_samplers`,
    :mod:`~lecture_code.score.sampler_error`;
    chapter 8, conditional diffusion: :mod:`~lecture_code.score.guidance`,
    :mod:`~lecture_code.score.random_fields`, :mod:`~lecture_code.score.super_resolution`.

**Part III, probabilistic forecasting** -- :mod:`lecture_code.forecasting`:
    chapter 9, Lorenz-96 and chaos: :mod:`~lecture_code.forecasting.lorenz96`,
    :mod:`~lecture_code.forecasting.bursts`, :mod:`~lecture_code.forecasting.chaos`,
    :mod:`~lecture_code.forecasting.data`;
    chapter 10, scoring rules: :mod:`~lecture_code.forecasting.metrics`,
    :mod:`~lecture_code.forecasting.shape_scores`,
    :mod:`~lecture_code.forecasting.calibration`, :mod:`~lecture_code.forecasting.bootstrap`;
    chapters 11 and 12, the forecasters: :mod:`~lecture_code.forecasting.networks`,
    :mod:`~lecture_code.forecasting.dropout`, :mod:`~lecture_code.forecasting.conditional_spread`,
    :mod:`~lecture_code.forecasting.losses`, :mod:`~lecture_code.forecasting.fit`,
    :mod:`~lecture_code.forecasting.trained`, :mod:`~lecture_code.forecasting.forecasters`,
    :mod:`~lecture_code.forecasting.baselines`,
    :mod:`~lecture_code.forecasting.diffusion_forecaster`,
    :mod:`~lecture_code.forecasting.two_sample`, :mod:`~lecture_code.forecasting.one_step`,
    :mod:`~lecture_code.forecasting.preconditioning`.

**Chapter 13, the benchmark** -- :mod:`lecture_code.benchmark`:
    the command ``python -m lecture_code.benchmark``; :mod:`~lecture_code.benchmark.profiles`,
    :mod:`~lecture_code.benchmark.assembly`,
    :mod:`~lecture_code.benchmark.scoring`, :mod:`~lecture_code.benchmark.scorecard`,
    :mod:`~lecture_code.benchmark.sampler_check`, :mod:`~lecture_code.benchmark.targets`,
    :mod:`~lecture_code.benchmark.schema`, :mod:`~lecture_code.benchmark.results`,
    :mod:`~lecture_code.benchmark.stages`, :mod:`~lecture_code.benchmark.run`,
    :mod:`~lecture_code.benchmark.report` (what chapter 13 shows of a run);
    chapter 11's study of the baselines, :mod:`~lecture_code.benchmark.baseline_study`, and
    chapter 12's of the diffusion forecaster, :mod:`~lecture_code.benchmark.diffusion_study`.

**Drawing** -- :mod:`lecture_code.plots` (data and an ``Axes`` in, the ``Axes`` out):
    :mod:`~lecture_code.plots.style`, :mod:`~lecture_code.plots.arrays`,
    :mod:`~lecture_code.plots.forward` (chapters 1-2), :mod:`~lecture_code.plots.families`
    (1), :mod:`~lecture_code.plots.reverse`
    (3-4), :mod:`~lecture_code.plots.score` (5), :mod:`~lecture_code.plots.sde` (6),
    :mod:`~lecture_code.plots.samplers` (7), :mod:`~lecture_code.plots.conditional` (8),
    :mod:`~lecture_code.plots.lorenz96` (9),
    :mod:`~lecture_code.plots.scoring` (10), :mod:`~lecture_code.plots.baselines` (11),
    :mod:`~lecture_code.plots.diffusion` (12), :mod:`~lecture_code.plots.benchmark` (13);
    and :mod:`lecture_code.figures`, the figure registry (one ``chNN_*`` module per chapter),
    its command ``python -m lecture_code.figures`` and :mod:`~lecture_code.figures.gallery`.

**Imports run one way**: support <- ``ddpm`` <- ``score`` <- ``forecasting`` <- ``benchmark``.
A module imports only from its own layer and the layers before it; ``plots`` imports no
mathematics; ``figures`` may import everything and nothing imports it. ``tests/test_layout.py``
checks this, and :func:`lecture_code.cache.layer_sources` relies on it to key cached results.
"""

__version__ = "0.1.0"
