"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations."""

from .catalog import list_problems, load_problem
from .conditions import Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .derivatives import Field, Fields
from .formula import LIBRARY as SYMBOLIC_LIBRARY
from .formula import Formula, symbolic
from .geometry import (
    SAMPLERS,
    Ball,
    Box,
    Difference,
    Disk,
    DistanceFunction,
    Domain,
    Intersection,
    Interval,
    Polygon,
    Rectangle,
    SpaceTime,
    Union,
    transfinite,
)
from .jet import JetSpec
from .kan import KAN, GridReport, KANLayer
from .knots import KNOT_PLACEMENTS, KnotRule
from .mlp import MLP
from .models import MODELS
from .observers import Observer
from .optim import OPTIMIZERS
from .problem import Problem, Unknown
from .reference import Reference
from .runfolder import RunFolder
from .settings import SolveSettings, Stage
from .solution import Solution, load
from .taylor import Monomials
from .train import fit, resume, solve

__all__ = [
    "KAN",
    "KANLayer",
    "GridReport",
    "KNOT_PLACEMENTS",
    "KnotRule",
    "MLP",
    "JetSpec",
    "Monomials",
    "Field",
    "Fields",
    "Problem",
    "Unknown",
    "Reference",
    "Domain",
    "Interval",
    "Rectangle",
    "Box",
    "Disk",
    "Ball",
    "Polygon",
    "Union",
    "Intersection",
    "Difference",
    "SpaceTime",
    "DistanceFunction",
    "transfinite",
    "Condition",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Periodic",
    "Initial",
    "Data",
    "SAMPLERS",
    "OPTIMIZERS",
    "MODELS",
    "SolveSettings",
    "Stage",
    "RunFolder",
    "Observer",
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
