"""symdiff: reverse-mode automatic differentiation, shown step by step, with closed forms.

Example:
    >>> import symdiff as sd
    >>> g = sd.grad("x1*x2 + sin(x1)")
    >>> g["x1"], g.at(x1=2, x2=3)["x1"]
    (x2 + cos(x1), 2.5838531634528574)
"""

from .api import derive, grad, trace
from .closedform import Gradient
from .derivation import Derivation
from .errors import DomainError, LimitError, ParseError, SymdiffError, VariableError
from .forward import evaluate
from .graph import Const, Graph, Node
from .primitives import PRIMITIVES
from .reverse import AdjointStep, Term, adjoint_values, reverse

__version__ = "0.1.0"

__all__ = [
    "PRIMITIVES",
    "AdjointStep",
    "Const",
    "Derivation",
    "DomainError",
    "Gradient",
    "Graph",
    "LimitError",
    "Node",
    "ParseError",
    "SymdiffError",
    "Term",
    "VariableError",
    "__version__",
    "adjoint_values",
    "derive",
    "evaluate",
    "grad",
    "reverse",
    "trace",
]
