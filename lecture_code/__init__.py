"""Companion code of the course book *Diffusion Models for Probabilistic Forecasting*.

Every function here is derived in a chapter of the book, and its docstring names the section and
the equation it implements. The modules, one concept each:

- :mod:`lecture_code.seeding` -- randomness as an explicit ``torch.Generator`` (preface);
- :mod:`lecture_code.validation` -- argument checks whose errors name the bad value;
- :mod:`lecture_code.checks` -- the assertions behind the book's verified claims;
- :mod:`lecture_code.cache` -- trained models kept on disk, keyed by configuration and code;
- :mod:`lecture_code.style` -- one plotting style for the book and for slides;
- :mod:`lecture_code.figures` -- the registry of every figure and its command.

The mathematical modules (schedules, forward process, ELBO, score matching, SDEs, samplers,
Lorenz-96, metrics, forecasters, benchmark) are added chapter by chapter.
"""

__version__ = "0.1.0"
