"""Chapter 13, the Lorenz-96 benchmark: profiles, forecasts, scores, the scorecard and the
sampler check, run end to end by ``python -m lecture_code.benchmark``.

Imports run one way: this package may import every package of the mathematics; none of them
imports it.
"""
