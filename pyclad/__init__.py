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
    jvp,
    load,
    value_and_grad,
    vjp,
)
from .backends import runtime_include as get_include
from .backends.aot import build_module as build
from .check import check_grads
from .errors import (
    ArgumentError,
    BoundsError,
    CompileError,
    CrashError,
    FunctionNotFoundError,
    GradientCheckError,
    LinkError,
    NameClashError,
    NoDerivativeError,
    OptionError,
    PycladError,
    SignatureError,
    UnsupportedError,
    WrtError,
)

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "BoundsError",
    "CompileError",
    "CrashError",
    "Derivative",
    "Function",
    "FunctionNotFoundError",
    "Gradient",
    "GradientCheckError",
    "LinkError",
    "Module",
    "NameClashError",
    "NoDerivativeError",
    "OptionError",
    "PycladError",
    "SignatureError",
    "UnsupportedError",
    "ValueAndGrad",
    "WrtError",
    "build",
    "check_grads",
    "cppdef",
    "differentiate",
    "get_include",
    "gradient",
    "hessian",
    "jacobian",
    "jvp",
    "load",
    "value_and_grad",
    "vjp",
]
