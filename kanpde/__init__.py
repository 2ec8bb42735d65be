"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations."""

from .catalog import list_problems, load_problem
from .conditions import Condition, Dirichlet, Initial, Neumann, Periodic, Robin
from .derivatives import Field
from .formula import LIBRARY as SYMBOLIC_LIBRARY
from .formula import Formula, symbolic
from .geometry import SAMPLERS, Box, Disk, Domain, Interval, Rectangle, SpaceTime
from .jet import JetSpec
from .kan import KAN, GridReport, KANLayer
from .mlp import MLP
from .optim import OPTIMIZERS
from .problem import Problem
from .solution import Solution, load
from .train import Stage, fit, resume, solve

__all__ = [
    "KAN",
    "KANLayer",
    "GridReport",
    "MLP",
    "JetSpec",
    "Field",
    "Problem",
    "Domain",
    "Interval",
    "Rectangle",
    "Box",
    "Disk",
    "SpaceTime",
    "Condition",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Periodic",
    "Initial",
    "SAMPLERS",
    "OPTIMIZERS",
    "Stage",
    "solve",
    "resume",
    "fit",
    "Solution",
    "load",
    "load_problem",
    "list_problems",
    "symbolic",
    "Formula",
    "SYMBOLIC_LIBRARY",
]
__version__ = "0.1.0"
