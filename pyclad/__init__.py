"""pyclad: automatic differentiation of C++ by source transformation, from Python."""

from .api import (
    Derivative,
    Function,
    Gradient,
    Module,
    ValueAndGrad,
    cppdef,
    differentiate,
    gradient,
    hessian,
    jacobian,
    load,
    value_and_grad,
)
from .backends import runtime_include as get_include
from .backends.aot import build_module as build
from .errors import (
    ArgumentError,
    CompileError,
    FunctionNotFoundError,
    NoDerivativeError,
    PycladError,
    UnsupportedError,
    WrtError,
)

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CompileError",
    "Derivative",
    "Function",
    "FunctionNotFoundError",
    "Gradient",
    "Module",
    "NoDerivativeError",
    "PycladError",
    "UnsupportedError",
    "ValueAndGrad",
    "WrtError",
    "build",
    "cppdef",
    "differentiate",
    "get_include",
    "gradient",
    "hessian",
    "jacobian",
    "load",
    "value_and_grad",
]
