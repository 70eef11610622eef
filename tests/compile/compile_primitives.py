"""Users' primitives for the random programs (compile_programs.py, ``users=True``): one,
two and three arguments, with ``out``, a custom_derivative with a branch, an estimator,
stop_gradient; some raise (a domain, an overflow, a partial dividing by zero)."""
import math

import scalargrad as sg


@sg.primitive(partials=lambda x: [2 / math.sqrt(math.pi) * sg.exp(-x * x)])
def erf(x):
    return math.erf(x)


@sg.primitive(partials=lambda a, b, out: [a / out, b / out])  # divides by zero at (0, 0)
def hypot(a, b):
    return math.hypot(a, b)


@sg.primitive(partials=lambda a, b, c: [b * c, a * c, a * b])
def product3(a, b, c):
    return a * b * c


@sg.primitive(partials=lambda x: [0.5 / sg.sqrt(x + 1.0)])
def root1p(x):
    return math.sqrt(x + 1.0)  # a ValueError below -1


@sg.primitive(partials=lambda x, out: [out])
def exponential(x):
    return math.exp(x)  # an OverflowError above 709.78


@sg.custom_derivative(partials=lambda x: [sg.sigmoid(x)])
def log1pexp(x):
    return x + sg.log1p(sg.exp(-x)) if x > 0 else sg.log1p(sg.exp(x))


@sg.custom_derivative(partials=lambda x: [1.0])
def straight_through_round(x):
    return float(round(x)) if math.isfinite(x) else x


stop_gradient = sg.stop_gradient

ARITY = {"erf": 1, "hypot": 2, "product3": 3, "root1p": 1, "exponential": 1, "log1pexp": 1,
         "straight_through_round": 1, "stop_gradient": 1}
