"""scalargrad: scalar-level automatic differentiation in pure Python.

Examples:
    >>> from scalargrad import Scalar, reverse_autodiff, forward_autodiff
    >>> x = Scalar(12); y = 2*x**2 + 4*x + 3
    >>> reverse_autodiff(y, x), forward_autodiff(y, x)
    (52.0, 52.0)
"""
from .core.autodiff import forward_autodiff, jacobian, reverse_autodiff
from .core.scalar import cycle_collector_paused
from .compile import Compiled, compile
from .errors import (DivisionByZero, DomainError, GraphLostError, NumericOverflow,
                     ScalargradError)
from .core.transforms import grad, hessian, hessian_of, jvp, value_and_grad, vjp
from .core.primitives import Primitive, custom_derivative, primitive, stop_gradient
from .core.functions import (absolute, atan, cos, divide, dot, exp, expm1, log, log1p, logsumexp,
                        maximum, mean, minimum, power, relu, sigmoid, sin, softplus, sqrt, sum,
                        tan, tanh)
from .view.graph import graph
from .check.gradcheck import GradientReport, InputCheck, check_gradients
from .matrix import Matrix
from .check.finite_differences import finite_difference
from .core.scalar import Scalar, strict_conversions, value_of

__version__ = "0.2.0"

__all__ = [
    "Scalar", "value_of", "reverse_autodiff", "forward_autodiff", "jacobian",
    "finite_difference", "grad", "value_and_grad", "hessian", "hessian_of", "jvp", "vjp",
    "primitive", "custom_derivative", "stop_gradient", "Primitive",
    "cycle_collector_paused", "strict_conversions", "compile", "Compiled",
    "check_gradients", "GradientReport", "InputCheck", "Matrix", "graph",
    "ScalargradError", "DomainError", "DivisionByZero", "NumericOverflow", "GraphLostError",
    "exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "atan", "tanh", "sigmoid",
    "softplus", "relu", "absolute", "maximum", "minimum", "power", "divide",
    "sum", "mean", "dot", "logsumexp",
]
