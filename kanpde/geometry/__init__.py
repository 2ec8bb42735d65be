"""Domains, named boundary faces, outward normals, point sampling and distance functions.

A domain is a closed set :math:`\\Omega \\subset \\mathbb{R}^d` (or a space-time cylinder
:math:`\\Omega \\times [t_0, t_1]`). Points are tensors of shape ``(N, dim)`` whose columns are named by
``domain.names`` (``"x", "y", "z"`` or ``"x1", ..., "xd"``; a space-time domain appends ``"t"``).

One module per concern:

* :mod:`~kanpde.geometry.sampling`: unit-cube samplers (:data:`SAMPLERS`), seed sub-streams, counts;
* :mod:`~kanpde.geometry.base`: the :class:`Domain` base class (faces, ``on=``, sampling, grids);
* :mod:`~kanpde.geometry.box`: :class:`Box`, :class:`Interval`, :class:`Rectangle`;
* :mod:`~kanpde.geometry.ball`: :class:`Ball` in any dimension and :class:`Disk`;
* :mod:`~kanpde.geometry.polygon`: simple :class:`Polygon`\\ s;
* :mod:`~kanpde.geometry.csg`: ``a - b``, ``a | b``, ``a & b``;
* :mod:`~kanpde.geometry.spacetime`: :class:`SpaceTime` over any of them;
* :mod:`~kanpde.geometry.distance`: smooth approximate distance functions (:class:`DistanceFunction`);
* :mod:`~kanpde.geometry.lift`: boundary values lifted into a rectangle (:func:`transfinite`).

Example::

    square = Rectangle((-0.5, -0.5), (0.5, 0.5))
    hole = Disk((0.3, 0.3), 0.1)
    dom = SpaceTime(square - hole, t=(0, 1))
    x_in = dom.sample_interior(1000)                     # (1000, 3), columns x, y, t; none in the hole
    x_b, normal = dom.sample_boundary(200, on=hole)      # (200, 3), (200, 2) on the circle, into the hole
    x_0 = dom.sample_initial(100)                        # (100, 3) with t == 0
"""

from .ball import Ball, Disk
from .base import Domain
from .box import Box, Interval, Rectangle
from .csg import CSGDomain, Difference, Intersection, Union
from .distance import DistanceFunction
from .lift import Transfinite, transfinite
from .polygon import Polygon
from .sampling import SAMPLERS
from .spacetime import SpaceTime

__all__ = [
    "SAMPLERS",
    "Ball",
    "Box",
    "CSGDomain",
    "Difference",
    "Disk",
    "DistanceFunction",
    "Domain",
    "Intersection",
    "Interval",
    "Polygon",
    "Rectangle",
    "SpaceTime",
    "Transfinite",
    "Union",
    "transfinite",
]
