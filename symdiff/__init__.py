"""symdiff: reverse-mode automatic differentiation, shown step by step, with closed forms.

Example:
    >>> import symdiff as sd
    >>> g = sd.grad("x1*x2 + sin(x1)")
    >>> g["x1"], g.at(x1=2, x2=3)["x1"]
    (x2 + cos(x1), 2.5838531634528574)
"""

from .api import (
    derive,
    grad,
    hessian,
    hessian_sparsity,
    hvp,
    jacobian,
    jacobian_sparsity,
    jvp,
    sparse_jacobian,
    trace,
    vjp,
)
from .closedform import Gradient
from .comparison import Comparison, compare
from .derivation import Derivation
from .errors import DomainError, LimitError, ParseError, SymdiffError, VariableError
from .forward import TangentStep, evaluate, tangent_values, tangents
from .graph import Const, Graph, Node
from .primitives import PRIMITIVES
from .reverse import AdjointStep, Term, adjoint_program, adjoint_values, reverse
from .sparsity import SparseJacobian, Sparsity
from .tracer import FUNCTIONS_TRACED as _FUNCTIONS

# symdiff's own math functions, for traced Python functions: sd.sin(x), sd.exp(x), ...
globals().update(_FUNCTIONS)

__version__ = "0.1.0"

__all__ = [
    "PRIMITIVES",
    "AdjointStep",
    "SparseJacobian",
    "Sparsity",
    "TangentStep",
    "Comparison",
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
    "adjoint_program",
    "adjoint_values",
    "compare",
    "derive",
    "evaluate",
    "grad",
    "hessian",
    "hessian_sparsity",
    "hvp",
    "jacobian",
    "jacobian_sparsity",
    "jvp",
    "reverse",
    "sparse_jacobian",
    "tangent_values",
    "tangents",
    "trace",
    "vjp",
    # the functions, except the three that would shadow builtins on `import *`
    *sorted(name for name in _FUNCTIONS if name not in ("abs", "max", "min")),
]
