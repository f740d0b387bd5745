"""iterate_minibatches' diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import Fn, const_value, dotted, keyword_arg, last_name
from nncheck.point.constructs import is_np_func
from nncheck.point.context import Ctx, Pin, one_line


def _minibatch_fn(ctx: Ctx):
    return ctx.entry("iterate_minibatches")


def rule_minibatch_misaligned(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    ylds = [n for n in fn.body_nodes() if isinstance(n, ast.Yield)]
    if len(ylds) != 1 or not isinstance(ylds[0].value, ast.Tuple) or len(ylds[0].value.elts) != 2:
        return []
    a, b = ylds[0].value.elts
    if isinstance(a, ast.Subscript) and isinstance(b, ast.Subscript) and ast.dump(a.slice) != ast.dump(b.slice):
        return [Pin(fn, ylds[0].lineno)]
    return []


def _calls_named(fn: Fn, pred):
    return [(fn, n) for n in fn.body_nodes() if isinstance(n, ast.Call) and pred(n)]


def rule_minibatch_repeats(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []

    def with_replacement(n):
        if last_name(n) == "choice":
            r = keyword_arg(n, "replace")
            return r is None or (isinstance(r, ast.Constant) and r.value is True)
        return last_name(n) in ("randint", "integers") and "random" in dotted(n.func) or last_name(n) == "randint"
    return one_line(_calls_named(fn, with_replacement))


def _random_calls(fn: Fn):
    return _calls_named(fn, lambda n: last_name(n) in ("permutation", "shuffle", "choice", "permuted")
                        and ("random" in dotted(n.func) or "rng" in dotted(n.func).lower()))


def _shuffle_never_reached(ctx: Ctx, fn: Fn):
    """The samples come out in their original order. ``shuffle = False`` rebinding the flag
    before it is read is the line; with no draw at all and the flag never read, the one line
    that makes the order (``indices = np.arange(n)``)."""
    flag = _shuffle_param(fn)
    if flag is None:
        return []
    reads = [n for n in fn.body_nodes() if isinstance(n, ast.Name) and n.id == flag and isinstance(n.ctx, ast.Load)]
    if flag in fn.stores:
        kills = []
        for r in reads:
            found, incoming = fn.reaching(flag, r, None)
            if not incoming:
                kills += [(fn, b.stmt) for b in found]
        if reads and len({id(s) for _, s in kills}) >= 1:
            return one_line(kills)
        return []
    if reads or _random_calls(fn):
        return []

    def full_order(n):
        if last_name(n) == "arange" and len(n.args) == 1:
            return True
        return (last_name(n) == "list" and len(n.args) == 1 and isinstance(n.args[0], ast.Call)
                and last_name(n.args[0]) == "range" and len(n.args[0].args) == 1)
    return one_line(_calls_named(fn, full_order))


def rule_minibatch_not_shuffled(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    found = []
    if "original order" in ctx.message:
        found = _shuffle_never_reached(ctx, fn)
    elif "only reorders fixed batches" in ctx.message:
        # a draw happens, but it reorders whole batches: the one line that draws it
        found = one_line(_random_calls(fn))
    if found:
        return found

    def seeded(n):
        name = last_name(n)
        if name in ("RandomState", "default_rng", "seed", "Generator") and n.args:
            return const_value(n.args[0]) is not None
        return False
    return one_line(_calls_named(fn, seeded))


def _shuffle_param(fn: Fn):
    if "shuffle" in fn.params:
        return "shuffle"
    return fn.positional[3] if len(fn.positional) > 3 else None


def rule_minibatch_shuffled_unasked(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    flag = _shuffle_param(fn)

    def guarded(n):
        p = fn.parents.get(n)
        while p is not None and p is not fn.node:
            if isinstance(p, (ast.If, ast.IfExp, ast.While)) and any(
                    isinstance(x, ast.Name) and x.id == flag for x in ast.walk(p.test)):
                return True
            p = fn.parents.get(p)
        return False
    cands = [(f, n) for f, n in _calls_named(fn, lambda n: last_name(n) in ("permutation", "shuffle")
                                              and "random" in dotted(n.func)) if not guarded(n)]
    return one_line(cands)


def rule_minibatch_step(ctx: Ctx):
    """The one ``range`` loop over the batch starts steps by something other than the batch size
    (``range(0, n, 1)``, a literal): its header."""
    fn = _minibatch_fn(ctx)
    if fn is None or len(fn.positional) < 3:
        return []
    size = fn.positional[2]
    loops = [n for n in fn.body_nodes() if isinstance(n, (ast.For, ast.AsyncFor)) and isinstance(n.iter, ast.Call)
             and last_name(n.iter) == "range"]
    if len(loops) != 1 or size in fn.stores:
        return []
    it = loops[0].iter
    step = it.args[2] if len(it.args) == 3 else None
    if step is None and len(it.args) != 1:
        return [Pin(fn, loops[0].lineno)] if len(it.args) == 2 else []
    if step is not None and const_value(step) is not None:
        return [Pin(fn, loops[0].lineno)]
    return []


def rule_minibatch_drops(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    cands = []
    for loop in (n for n in fn.body_nodes() if isinstance(n, (ast.For, ast.AsyncFor))):
        it = loop.iter
        if isinstance(it, ast.Call) and last_name(it) == "range" and len(it.args) >= 2:
            stop = it.args[1]
            if isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub):
                cands.append((fn, loop))
    return one_line(cands) if len(cands) == 1 else []


def rule_minibatch_batch_size(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    return one_line(_calls_named(fn, lambda n: last_name(n) in ("array_split", "split") and is_np_func(n)))


DIAGNOSES = [
    Diagnosis("minibatch-labels-misaligned", "Minibatch labels no longer match their images",
              "iterate_minibatches", rule_minibatch_misaligned),
    Diagnosis("minibatch-repeats-samples", "A sample appears twice in one pass",
              "iterate_minibatches", lambda ctx: rule_minibatch_repeats(ctx) or rule_minibatch_step(ctx)),
    Diagnosis("minibatch-not-shuffled", "Minibatches are not shuffled when asked",
              "iterate_minibatches", rule_minibatch_not_shuffled),
    Diagnosis("minibatch-shuffled-when-not-asked", "Minibatches are shuffled without being asked",
              "iterate_minibatches", rule_minibatch_shuffled_unasked),
    Diagnosis("minibatch-drops-samples", "Samples are dropped from the pass",
              "iterate_minibatches", rule_minibatch_drops),
    Diagnosis("minibatch-wrong-batch-size", "Minibatches have the wrong size",
              "iterate_minibatches", rule_minibatch_batch_size),
]
