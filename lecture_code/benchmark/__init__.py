"""Chapter 13, the Lorenz-96 benchmark, run end to end by ``python -m lecture_code.benchmark``.

One module per concept:

- :mod:`~lecture_code.benchmark.profiles`: every setting of a run (``book``, ``full``, ``tiny``);
- :mod:`~lecture_code.benchmark.assembly`: the profile's networks and forecasters, the
  MC-dropout rate tuned on validation rollouts;
- :mod:`~lecture_code.benchmark.scoring`: every score, lead by lead;
- :mod:`~lecture_code.benchmark.scorecard`: the challenger against each baseline, by a paired
  bootstrap;
- :mod:`~lecture_code.benchmark.sampler_check`: the fast sampler against the slow one, the
  sampler ablation and the one-step diagnostics;
- :mod:`~lecture_code.benchmark.results`: ``results.json``, its provenance and freshness;
- :mod:`~lecture_code.benchmark.run`: the run itself; :mod:`~lecture_code.benchmark.__main__`:
  the command.

Imports run one way: this package may import every package of the mathematics; none of them
imports it, and it imports no drawing code (its figures are drawn by
:mod:`lecture_code.figures.ch13_benchmark` from ``results.json``).
"""
