"""Chapter 13, the Lorenz-96 benchmark, run end to end by ``python -m lecture_code.benchmark``.

One module per concept:

- :mod:`~lecture_code.benchmark.profiles`: the tracks (truths) and every setting of a run
  (``book``, ``standard``, ``full``, ``tiny``);
- :mod:`~lecture_code.benchmark.assembly`: the profile's networks and forecasters, the dropout
  rates tuned on validation rollouts with the leads weighted fairly;
- :mod:`~lecture_code.benchmark.scoring`: every score, lead by lead, with intervals;
- :mod:`~lecture_code.benchmark.scorecard`: the challenger against each baseline, paired tests
  with a Holm correction;
- :mod:`~lecture_code.benchmark.sampler_check`: the fast sampler against the slow one (a
  two-sample test, its control and its power), the one-step law and diagnostics;
- :mod:`~lecture_code.benchmark.targets`: the protocol's targets, judged;
- :mod:`~lecture_code.benchmark.schema`: the schema of ``results.json``;
- :mod:`~lecture_code.benchmark.results`: ``results.json``, its provenance and freshness;
- :mod:`~lecture_code.benchmark.stages`: timing, test states, rolling out and scoring;
- :mod:`~lecture_code.benchmark.report`: what chapter 13 shows of a run (the live book run,
  cached; the targets, provenance, scorecard and cost tables);
- :mod:`~lecture_code.benchmark.run`: the run itself; :mod:`~lecture_code.benchmark.__main__`:
  the command.

Imports run one way: this package may import every package of the mathematics; none of them
imports it, and it imports no drawing code (its figures are drawn by
:mod:`lecture_code.figures.ch13_benchmark` from ``results.json``).
"""
