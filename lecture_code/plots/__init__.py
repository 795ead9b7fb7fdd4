"""Drawing only: every function takes data and a matplotlib ``Axes`` and returns the ``Axes``.

One module per group of chapters (:mod:`~lecture_code.plots.forward` for chapters 1-2,
:mod:`~lecture_code.plots.families` for the schematic of the generative-model families of 1,
:mod:`~lecture_code.plots.reverse` for 3-4, :mod:`~lecture_code.plots.lorenz96` for 9,
:mod:`~lecture_code.plots.scoring` for 10, :mod:`~lecture_code.plots.benchmark` for 13) and the
one style of the book and the slides (:mod:`~lecture_code.plots.style`). No module here imports
the mathematics; :mod:`lecture_code.figures` wires the two together.
"""
