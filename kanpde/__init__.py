"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations."""

from .catalog import list_problems, load_problem
from .conditions import Boundary, Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .derivatives import Field, Fields
from .fitting import fit
from .formula import LIBRARY as SYMBOLIC_LIBRARY
from .formula import Formula, FormulaBudget, FormulaBudgetError, symbolic
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
from .levers import RAD, RBA, Causal, Lever, Sparsity
from .marching import Marching, load_march, march
from .mlp import MLP
from .models import MODELS
from .observers import Observer, Progress
from .plotting import plot_edges, plot_history
from .problem import Problem, Unknown
from .reference import Reference, find_data_file
from .runfolder import RunFolder
from .settings import (
    BFGS,
    LBFGS,
    LM,
    OPTIMIZERS,
    Adam,
    GridPlan,
    Restarts,
    Runtime,
    Sampling,
    Schedule,
    SolveSettings,
    SSBroyden,
    Stage,
)
from .solution import Solution, load
from .solver import resume, solve
from .state import TrainerState
from .stepping import Step, discrete_time, radau_iia
from .taylor import Monomials

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
    "find_data_file",
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
    "Boundary",
    "Periodic",
    "Initial",
    "Data",
    "SAMPLERS",
    "OPTIMIZERS",
    "MODELS",
    "SolveSettings",
    "Sampling",
    "Schedule",
    "Stage",
    "GridPlan",
    "Adam",
    "LBFGS",
    "LM",
    "BFGS",
    "SSBroyden",
    "Restarts",
    "Runtime",
    "Lever",
    "RAD",
    "RBA",
    "Causal",
    "Sparsity",
    "TrainerState",
    "RunFolder",
    "Observer",
    "Progress",
    "plot_edges",
    "plot_history",
    "solve",
    "resume",
    "march",
    "Marching",
    "load_march",
    "discrete_time",
    "radau_iia",
    "Step",
    "fit",
    "Solution",
    "load",
    "load_problem",
    "list_problems",
    "symbolic",
    "Formula",
    "FormulaBudget",
    "FormulaBudgetError",
    "SYMBOLIC_LIBRARY",
]
__version__ = "0.1.0"
