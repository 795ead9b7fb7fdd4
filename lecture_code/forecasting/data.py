"""Training, validation and test data from the stochastic Lorenz-96 truth.

A one-step forecaster learns the transition ``u_n -> u_{n+1}`` of the truth chain
(:func:`lecture_code.forecasting.lorenz96.model_step`, book eq. (l96-stochastic)). The data are
built so that
nothing the forecaster is scored on was seen in training:

- every piece comes from its own seeded stream, ``generator_for(seed, "lorenz96", piece)`` with
  ``piece`` in ``"train"``, ``"val"``, ``"test"``, ``"climatology"``, so no two pieces share a
  trajectory or a random draw, and enlarging one leaves the others unchanged;
- every trajectory starts near the fixed point ``u = F`` and is spun up for ``spin_up_time``
  (>= 10) time units before anything is kept, so the data lie on the attractor;
- training transitions come from many short independent trajectories integrated side by side
  as one batch (fast, and much less correlated than one long run): each keeps a transition every
  ``stride`` time units, so consecutive kept transitions of one trajectory are about as far
  apart as the attractor's decorrelation time;
- test initial states come from their own trajectories, ``test_spacing`` time units apart when a
  trajectory holds more than one (by default each test state has its own trajectory, so the
  initial states are independent, as the bootstrap over initial states assumes);
- the climatology sample comes from further trajectories, ``climatology_spacing`` apart.

Two checks go with the data: :func:`closest_distance` and :func:`leakage_threshold` test that
no test state continues a training trajectory.

Book: chapter 9, "Lorenz-96 and chaos" (:doc:`/book/part3/09_lorenz96`), section "The data
of the benchmark".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lecture_code.forecasting.lorenz96 import Lorenz96, lead_steps, model_step, trajectory
from lecture_code.seeding import generator_for
from lecture_code.validation import check_int, check_real, check_tensor

__all__ = [
    "DataConfig",
    "Lorenz96Data",
    "closest_distance",
    "leakage_threshold",
    "make_data",
    "sample_states",
    "truth_paths",
]


@dataclass(frozen=True)
class DataConfig:
    """How much data to make, and how it is spaced.

    Attributes:
        n_train: training transitions ``(u_n, u_{n+1})``.
        n_val: validation transitions.
        n_test: test initial states, from trajectories never used for training.
        test_spacing: time units between test states of one trajectory (>= 1).
        spin_up_time: time units integrated before anything is kept (>= 10).
        n_climatology: states for the climatology forecaster.
        seed: the experiment's seed; each piece derives its own stream from it.
        train_trajectories: independent trajectories the training transitions come from.
        val_trajectories: independent trajectories the validation transitions come from.
        stride: time units between kept transitions of one trajectory (a multiple of Δ).
        test_per_trajectory: test states taken from each test trajectory.
        climatology_trajectories: independent trajectories of the climatology sample.
        climatology_spacing: time units between its states on one trajectory.
    """

    n_train: int = 20_000
    n_val: int = 2_000
    n_test: int = 200
    test_spacing: float = 1.0
    spin_up_time: float = 10.0
    n_climatology: int = 5_000
    seed: int = 0
    train_trajectories: int = 500
    val_trajectories: int = 50
    stride: float = 0.25
    test_per_trajectory: int = 1
    climatology_trajectories: int = 100
    climatology_spacing: float = 0.5

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, low=1)
        check_int("n_val", self.n_val, low=1)
        check_int("n_test", self.n_test, low=1)
        check_real("test_spacing", self.test_spacing, low=1.0)
        check_real("spin_up_time", self.spin_up_time, low=10.0)
        check_int("n_climatology", self.n_climatology, low=1)
        check_int("seed", self.seed, low=0)
        check_int("train_trajectories", self.train_trajectories, low=1)
        check_int("val_trajectories", self.val_trajectories, low=1)
        check_real("stride", self.stride, low=0.0, low_open=True)
        check_int("test_per_trajectory", self.test_per_trajectory, low=1)
        check_int("climatology_trajectories", self.climatology_trajectories, low=1)
        check_real("climatology_spacing", self.climatology_spacing, low=0.0, low_open=True)


@dataclass(frozen=True)
class Lorenz96Data:
    """The benchmark's data, float64.

    Attributes:
        u_train: (N, K) training states ``u_n``.
        u_train_next: (N, K) their successors ``u_{n+1}``, one model step Δ later.
        u_val: (Nv, K) validation states.
        u_val_next: (Nv, K) their successors.
        u_test: (n_test, K) test initial states.
        climatology: (n_climatology, K) states of the truth on its attractor.
    """

    u_train: torch.Tensor
    u_train_next: torch.Tensor
    u_val: torch.Tensor
    u_val_next: torch.Tensor
    u_test: torch.Tensor
    climatology: torch.Tensor


def sample_states(
    n: int,
    n_trajectories: int,
    spacing: float,
    system: Lorenz96,
    generator: torch.Generator,
    spin_up_time: float = 10.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` states of the truth chain and their successors, from independent trajectories.

    ``n_trajectories`` trajectories start at ``u = F + eta`` (``eta ~ N(0, I)``), run side by
    side as one batch, are spun up for ``spin_up_time`` and then keep a state and its successor
    every ``spacing`` time units, until ``n`` pairs are kept. States of one trajectory are
    ``spacing`` apart; different trajectories share nothing.

    Args:
        n: number of pairs, >= 1.
        n_trajectories: number of independent trajectories, in [1, n].
        spacing: time units between kept states of one trajectory, a multiple of Δ.
        system: the truth system.
        generator: draws the starts and every kick.
        spin_up_time: time units before the first kept state, >= 0.

    Returns:
        ``(u, u_next)``, each (n, K) float64; row ``i`` belongs to trajectory
        ``i mod n_trajectories``, and ``u_next[i]`` is ``u[i]`` one model step later.
    """
    if not isinstance(system, Lorenz96):
        raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
    n = check_int("n", n, low=1)
    n_trajectories = check_int("n_trajectories", n_trajectories, low=1, high=n)
    spin_up_time = check_real("spin_up_time", spin_up_time, low=0.0)
    gap = lead_steps(spacing, system, name="spacing")
    if gap < 1:
        raise ValueError(f"spacing must be at least one model step Δ = {system.Delta}, got 0")
    per_trajectory = math.ceil(n / n_trajectories)
    u = system.F + torch.randn((n_trajectories, system.K), generator=generator, dtype=torch.float64)
    for _ in range(math.ceil(spin_up_time / system.Delta - 1e-9)):
        u = model_step(u, system, generator)
    kept, kept_next = [], []
    for j in range(per_trajectory):
        if j > 0:
            # Walk on from the last successor to the next kept state, spacing after the last.
            for _ in range(gap - 1):
                u = model_step(u, system, generator)
        u_next = model_step(u, system, generator)
        kept.append(u)
        kept_next.append(u_next)
        u = u_next
    # (per_trajectory, n_trajectories, K) -> rows ordered time-major, cut to n.
    return torch.cat(kept)[:n], torch.cat(kept_next)[:n]


def make_data(system: Lorenz96, config: DataConfig) -> Lorenz96Data:
    """Training and validation transitions, test states and a climatology sample.

    Args:
        system: the truth system (the stochastic Lorenz-96 of the benchmark).
        config: sizes, spacings and the seed.

    Returns:
        A :class:`Lorenz96Data`; every piece from its own stream and its own trajectories.
    """
    if not isinstance(system, Lorenz96):
        raise TypeError(f"system must be a Lorenz96, got {type(system).__name__}")
    if not isinstance(config, DataConfig):
        raise TypeError(f"config must be a DataConfig, got {type(config).__name__}")

    # Times in the configuration must be whole model steps; say which field is wrong.
    for field in ("stride", "test_spacing", "climatology_spacing", "spin_up_time"):
        lead_steps(getattr(config, field), system, name=f"config.{field}")

    def stream(piece: str) -> torch.Generator:
        return generator_for(config.seed, "lorenz96", piece)

    u_train, u_train_next = sample_states(
        config.n_train,
        min(config.train_trajectories, config.n_train),
        config.stride,
        system,
        stream("train"),
        config.spin_up_time,
    )
    u_val, u_val_next = sample_states(
        config.n_val,
        min(config.val_trajectories, config.n_val),
        config.stride,
        system,
        stream("val"),
        config.spin_up_time,
    )
    test_trajectories = math.ceil(config.n_test / config.test_per_trajectory)
    u_test, _ = sample_states(
        config.n_test,
        test_trajectories,
        config.test_spacing,
        system,
        stream("test"),
        config.spin_up_time,
    )
    climatology, _ = sample_states(
        config.n_climatology,
        min(config.climatology_trajectories, config.n_climatology),
        config.climatology_spacing,
        system,
        stream("climatology"),
        config.spin_up_time,
    )
    return Lorenz96Data(
        u_train=u_train,
        u_train_next=u_train_next,
        u_val=u_val,
        u_val_next=u_val_next,
        u_test=u_test,
        climatology=climatology,
    )


def truth_paths(
    u_0: torch.Tensor, n_leads: int, system: Lorenz96, generator: torch.Generator
) -> torch.Tensor:
    """The verifying truth of forecasts from ``u_0``: one path of the true chain from each state.

    Args:
        u_0: (B, K) initial states.
        n_leads: model steps, >= 1.
        system: the truth.
        generator: draws the kicks of the paths.

    Returns:
        (B, n_leads, K) float64: the truth 1..n_leads model steps after ``u_0``.
    """
    n_leads = check_int("n_leads", n_leads, low=1)
    return trajectory(u_0, n_leads, system, generator)[:, 1:]


# --- checks on the data: leakage between the sets, and the cost of making them


def closest_distance(u_a: torch.Tensor, u_b: torch.Tensor) -> torch.Tensor:
    """For each state of ``u_a`` (n, K), the Euclidean distance to its nearest state in ``u_b``
    (N, K); returns (n,)."""
    dims: dict[str, int] = {}
    u_a = check_tensor("u_a", u_a, (None, "K"), dims=dims)
    u_b = check_tensor("u_b", u_b, (None, "K"), dims=dims)
    return torch.cdist(u_a, u_b).min(dim=1).values


def leakage_threshold(u: torch.Tensor, u_next: torch.Tensor) -> float:
    """The largest distance ``|u_{n+1} - u_n|`` over transitions (N, K): how far one model step
    moves a state.

    A test state that continues a training trajectory by one step lies within about this
    distance of a training state, while independent states lie farther apart (chapter 9,
    section "The data of the benchmark"); ``closest_distance(test, train).min()`` above this
    threshold rules out such a leak.
    """
    dims: dict[str, int] = {}
    u = check_tensor("u", u, ("N", "K"), dims=dims)
    u_next = check_tensor("u_next", u_next, ("N", "K"), dims=dims)
    return float(torch.linalg.vector_norm(u_next - u, dim=1).max())
