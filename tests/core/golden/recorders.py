def recorders(RULE_neg, RULE_abs, RULE_exp, RULE_expm1, RULE_log, RULE_log1p, RULE_sqrt, RULE_sin, RULE_cos, RULE_tan, RULE_atan, RULE_tanh, RULE_sigmoid, RULE_softplus, RULE_relu, RULE_add, RULE_sub, RULE_mul, RULE_div, RULE_pow, RULE_maximum, RULE_minimum):
    _last = None
    _budget = 256

    def make_node(value, rule, a, da, b=None, db=None):
        nonlocal _last, _budget
        node = _new(Scalar)
        node._value = value
        node._rule = rule
        node._a = a
        node._da = da
        node._b = b
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def newest():
        return _last

    def end_tape():
        nonlocal _last
        _last = None

    def move_head(node):
        nonlocal _last
        _last = node

    def neg(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = -xv
                d = -1.0
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_neg, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_neg
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return -xv
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_neg, (xv,), cause) from None

    def abs(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_abs(xv)
                d = 1.0 if xv > 0 else -1.0 if xv < 0 else 0.0 if xv == 0 else _f_nan * xv
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_abs, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_abs
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_abs(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_abs, (xv,), cause) from None

    def exp(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_exp(xv)
                d = out
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_exp, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_exp
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_exp(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_exp, (xv,), cause) from None

    def expm1(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_expm1(xv)
                d = _f_exp(xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_expm1, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_expm1
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_expm1(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_expm1, (xv,), cause) from None

    def log(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_log(xv)
                d = 1.0 / xv
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_log, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_log
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_log(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_log, (xv,), cause) from None

    def log1p(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_log1p(xv)
                d = 1.0 / (1.0 + xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_log1p, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_log1p
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_log1p(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_log1p, (xv,), cause) from None

    def sqrt(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_sqrt(xv)
                d = 0.5 / out if out != 0 else _f_diverging(xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_sqrt, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_sqrt
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_sqrt(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_sqrt, (xv,), cause) from None

    def sin(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_sin(xv)
                d = _f_cos(xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_sin, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_sin
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_sin(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_sin, (xv,), cause) from None

    def cos(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_cos(xv)
                d = -_f_sin(xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_cos, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_cos
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_cos(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_cos, (xv,), cause) from None

    def tan(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_tan(xv)
                d = 1.0 + out * out
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_tan, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_tan
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_tan(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_tan, (xv,), cause) from None

    def atan(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_atan(xv)
                d = 1.0 / (1.0 + xv * xv) if -1e+16 < xv < 1e+16 else 1.0 / xv / xv
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_atan, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_atan
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_atan(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_atan, (xv,), cause) from None

    def tanh(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_tanh(xv)
                d = 1.0 - out * out if -1.0 < xv < 1.0 else _f_tanh_slope(_f_exp(-2.0 * _f_abs(xv)))
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_tanh, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_tanh
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_tanh(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_tanh, (xv,), cause) from None

    def sigmoid(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_sigmoid(xv)
                d = 0.25 * _f_one_minus_square(_f_tanh(0.5 * xv)) if -2.0 < xv < 2.0 else 0.25 * _f_tanh_slope(_f_exp(-_f_abs(xv)))
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_sigmoid, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_sigmoid
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_sigmoid(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_sigmoid, (xv,), cause) from None

    def softplus(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_softplus(xv)
                d = _f_sigmoid(xv)
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_softplus, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_softplus
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_softplus(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_softplus, (xv,), cause) from None

    def relu(x):
        nonlocal _last, _budget
        if x.__class__ is Scalar:
            xv = x._value
            try:
                out = _f_relu(xv)
                d = 0.0 if xv <= 0 else 1.0 if xv > 0 else _f_nan * xv
            except (ArithmeticError, ValueError) as cause:
                raise error(RULE_relu, (xv,), cause) from None
            node = _new(Scalar)
            node._value = out
            node._rule = RULE_relu
            node._a = x
            node._da = d
            node._b = node._db = node._acc = None
            node._previous = _last
            _last = node
            _budget -= 1
            if not _budget:
                _budget = 256
                _tick()
            return node
        xv = as_float(x)
        try:
            return _f_relu(xv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_relu, (xv,), cause) from None

    def add(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = av + bv
            da = 1.0
            db = (1.0) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_add, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_add
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def radd(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = av + bv
            db = 1.0
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_add, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_add
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def sub(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = av - bv
            da = 1.0
            db = (-1.0) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_sub, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_sub
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rsub(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = av - bv
            db = -1.0
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_sub, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_sub
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def mul(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = av * bv
            da = bv
            db = (av) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_mul, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_mul
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rmul(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = av * bv
            db = av
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_mul, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_mul
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def div(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = av / bv
            da = 1.0 / bv
            db = (-out / bv) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_div, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_div
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rdiv(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = av / bv
            db = -out / bv
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_div, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_div
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def pow(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = _f_pow(av, bv)
            da = _f_pow_base_partial(av, bv, out)
            db = (out * _f_log(av) if av > 0 else (0.0 if bv == 0 else 0.0 - out) if av == 0 else _f_nan * out) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_pow, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_pow
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rpow(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = _f_pow(av, bv)
            db = out * _f_log(av) if av > 0 else (0.0 if bv == 0 else 0.0 - out) if av == 0 else _f_nan * out
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_pow, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_pow
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def maximum(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = _f_maximum(av, bv)
            da = 1.0 if av >= bv else 0.0 if av < bv else _f_nan * (av + bv)
            db = (0.0 if av >= bv else 1.0 if av < bv else _f_nan * (av + bv)) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_maximum, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_maximum
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rmaximum(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = _f_maximum(av, bv)
            db = 0.0 if av >= bv else 1.0 if av < bv else _f_nan * (av + bv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_maximum, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_maximum
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def minimum(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is Scalar:
            bv = other._value
        elif cls is float or cls is int:
            bv = other
        elif isinstance(other, _Real):
            bv = float(other)
        else:
            return NotImplemented
        av = self._value
        try:
            out = _f_minimum(av, bv)
            da = 1.0 if av <= bv else 0.0 if av > bv else _f_nan * (av + bv)
            db = (0.0 if av <= bv else 1.0 if av > bv else _f_nan * (av + bv)) if cls is Scalar else None
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_minimum, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_minimum
        node._a = self
        node._da = da
        node._b = other
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    def rminimum(self, other):
        nonlocal _last, _budget
        cls = other.__class__
        if cls is float or cls is int:
            av = other
        elif isinstance(other, _Real):
            av = float(other)
        else:
            return NotImplemented
        bv = self._value
        try:
            out = _f_minimum(av, bv)
            db = 0.0 if av <= bv else 1.0 if av > bv else _f_nan * (av + bv)
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE_minimum, (av, bv), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = RULE_minimum
        node._a = other
        node._da = None
        node._b = self
        node._db = db
        node._acc = None
        node._previous = _last
        _last = node
        _budget -= 1
        if not _budget:
            _budget = 256
            _tick()
        return node

    return {
        'make_node': make_node,
        'newest': newest,
        'end_tape': end_tape,
        'move_head': move_head,
        'neg': neg,
        'abs': abs,
        'exp': exp,
        'expm1': expm1,
        'log': log,
        'log1p': log1p,
        'sqrt': sqrt,
        'sin': sin,
        'cos': cos,
        'tan': tan,
        'atan': atan,
        'tanh': tanh,
        'sigmoid': sigmoid,
        'softplus': softplus,
        'relu': relu,
        'add': add,
        'radd': radd,
        'sub': sub,
        'rsub': rsub,
        'mul': mul,
        'rmul': rmul,
        'div': div,
        'rdiv': rdiv,
        'pow': pow,
        'rpow': rpow,
        'maximum': maximum,
        'rmaximum': rmaximum,
        'minimum': minimum,
        'rminimum': rminimum,
    }
