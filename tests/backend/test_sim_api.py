"""The simulated CUDA device (gpucell.backend.sim) has CuPy's shape: checked against an installed CuPy.

Code that passes on the simulator must run unchanged on a GPU. So the simulator offers only names
that CuPy offers (a name CuPy lacks lets gpucell grow a dependency that breaks on real hardware),
each the same kind of thing (a property that CuPy has as a method breaks ``s.done()`` or ``s.done``),
with CuPy's parameters (a keyword CuPy does not take passes in CI and raises TypeError on a GPU); and
everything gpucell itself uses of the GPU module exists on both (or the GPU path fails in CI only,
or on a GPU only). Deliberate differences sit in the allow-lists below, each with its reason; an
entry that no longer differs fails too, so the lists shrink as the simulator is fixed.

Without CuPy the whole module is skipped: there is nothing to compare with.
"""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import pytest

try:
    import warnings

    import cupy

    with warnings.catch_warnings():  # "nccl library could not be loaded" where no NCCL wheel is
        warnings.simplefilter("ignore")
        import cupy.cuda.nccl  # noqa: F401 - a submodule CuPy does not import itself
except Exception as exc:  # noqa: BLE001 - any import failure means "no CuPy to compare with"
    pytest.skip(f"the simulator's API is checked against CuPy, which could not be imported "
                f"({type(exc).__name__}: {exc})", allow_module_level=True)

import gpucell
import gpucell.backend.sim as sim

# Names the simulator offers that CuPy lacks, on purpose or until fixed. "TODO: <file>" marks a fix
# that belongs to that file of gpucell/backend/sim.
EXTRA_NAMES = {
    "RaceError": "the simulator's own error: CUDA raises nothing where a GPU silently corrupts data, so CuPy has "
                 "no such name; callers catch it (gpucell.backend.kernels does), and the coverage test below "
                 "makes sure gpucell never reaches it through backend.cupy",
}

# Callables whose parameters differ from CuPy's, on purpose or until fixed.
SIGNATURE_DIFFERENCES = {
    "ndarray": "CuPy's Python-level ndarray.__new__(*args, _obj=None, _no_init=False, **kwargs) forwards to "
               "_ndarray_base.__init__(shape, dtype=float, memptr=None, strides=None, order='C'), the "
               "documented signature, which the simulator states",
}

# Names gpucell uses on the GPU module that the simulator need not offer.
_KERNEL_CACHE_PROBE = ("CuPy-private (CuPy 14), probed with getattr(..., None) by kernels._use_kernel_cache, which "
                       "runs on real CuPy only: the simulator compiles with the host emulator, not NVRTC")
NOT_SIMULATED = {
    "cuda.compiler._set_kernel_cache_backend": _KERNEL_CACHE_PROBE,
    "cuda.compiler._DiskKernelCacheBackend": _KERNEL_CACHE_PROBE,
}

# The submodules of CuPy that the simulator mirrors (each must be reached by the walk below).
SUBMODULES = ("cuda", "cuda.runtime", "cuda.nvtx", "cuda.compiler", "cuda.driver", "cuda.memory", "lib",
              "lib.stride_tricks")

# The classes whose public methods and properties are compared as well as their names.
CLASSES = ("ndarray", "ufunc", "cuda.Stream", "cuda.Event", "cuda.Device", "cuda.MemoryPool",
           "cuda.PinnedMemoryPool", "cuda.MemoryPointer", "cuda.Graph", "cuda.MemoryHook", "RawModule", "RawKernel")

_MISSING = object()


def _resolve(root, path: str):
    """``root.a.b.c`` for path "a.b.c", or _MISSING."""
    value = root
    for part in path.split("."):
        value = getattr(value, part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _public(names) -> list[str]:
    return sorted(name for name in names if not name.startswith("_"))


def _sim_modules() -> dict[str, types.ModuleType]:
    """Path -> module, for the simulator and every submodule of it reachable through public names."""
    found = {"": sim}
    pending = [("", sim)]
    while pending:
        prefix, module = pending.pop()
        for name in _public(dir(module)):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith(sim.__name__ + "."):
                path = prefix + name
                if path not in found:
                    found[path] = value
                    pending.append((path + ".", value))
    return found


def _sim_names() -> list[str]:
    """Every public name the simulator offers: module attributes, and the listed classes' attributes."""
    names = []
    for prefix, module in _sim_modules().items():
        for name in _public(dir(module)):
            if type(getattr(module, name)).__module__ == "__future__":
                continue  # `from __future__ import annotations` binds a name; it is a compiler directive, not API
            names.append(f"{prefix}.{name}" if prefix else name)
    for path in CLASSES:
        names += [f"{path}.{name}" for name in _public(dir(_resolve(sim, path)))]
    return names


def _kind(value) -> str:
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "class"
    return "callable" if callable(value) else "value"


def test_the_walk_reaches_every_mirrored_submodule_and_class():
    """Guards the checks below against silently checking less (a submodule no longer reached)."""
    modules = _sim_modules()
    assert set(SUBMODULES) <= set(modules), f"not reached: {sorted(set(SUBMODULES) - set(modules))}"
    for path in CLASSES:
        assert isinstance(_resolve(sim, path), type), f"sim.{path} is not a class"


def _nccl_unloaded(path: str) -> bool:
    """``cupy.cuda.nccl`` has its names only when CuPy loads libnccl, which its wheels do not bundle;
    without it the simulator's twin (imported by gpucell's NCCL path, as ``from cupy.cuda import
    nccl`` imports CuPy's) is checked against the signatures compiled into CuPy's extension module
    instead: tests/communication/test_sim_nccl.py."""
    return path.startswith("cuda.nccl.") and not getattr(getattr(cupy.cuda, "nccl", None), "available", False)


def test_every_public_name_exists_in_cupy_as_the_same_kind_of_thing():
    """Guards against a name real CuPy lacks (it works on the simulator, AttributeError on a GPU) and
    against a different kind (a property for CuPy's method, a function for CuPy's class, which breaks
    calls and ``isinstance``)."""
    problems = []
    for path in _sim_names():
        if path in EXTRA_NAMES or _nccl_unloaded(path):
            continue
        theirs = _resolve(cupy, path)
        if theirs is _MISSING:
            problems.append(f"sim.{path}: CuPy has no cupy.{path}")
            continue
        ours = _kind(_resolve(sim, path))
        if ours != _kind(theirs):
            problems.append(f"sim.{path} is a {ours}, cupy.{path} a {_kind(theirs)}")
    assert not problems, "The simulator differs from CuPy:\n  " + "\n  ".join(problems)


def _signature(value) -> inspect.Signature | None:
    try:
        return inspect.signature(value)
    except (TypeError, ValueError):  # Cython's non-binding functions and builtins state none
        return None


_LITERALS = (type(None), bool, int, float, complex, str, bytes)


def _simple(value) -> bool:
    return isinstance(value, _LITERALS) or isinstance(value, tuple) and all(_simple(v) for v in value)


def _signature_problem(ours: inspect.Signature | None, theirs: inspect.Signature) -> str | None:
    """Why ``ours`` differs from CuPy's ``theirs``: names, order, kinds, and each default that CuPy
    states as a literal (a default that is not a literal, such as ``dtype=float``, must exist)."""
    if ours is None:
        return f"the simulator's signature cannot be inspected; CuPy's is {theirs}"
    mine, cupys = list(ours.parameters.values()), list(theirs.parameters.values())
    if [(p.name, p.kind) for p in mine] != [(p.name, p.kind) for p in cupys]:
        return f"parameters {ours} != CuPy's {theirs}"
    for p, q in zip(mine, cupys):
        if (p.default is p.empty) != (q.default is q.empty):
            return f"'{p.name}' has a default in only one of {ours} and CuPy's {theirs}"
        if _simple(q.default) and (type(p.default) is not type(q.default) or p.default != q.default):
            return f"'{p.name}' defaults to {p.default!r}, CuPy's to {q.default!r}"
    return None


def _callables() -> list[str]:
    """The paths of every simulator callable that CuPy also has (classes, functions, methods)."""
    paths = []
    for path in _sim_names():
        ours, theirs = _resolve(sim, path), _resolve(cupy, path)
        if theirs is _MISSING or isinstance(ours, types.ModuleType) or not callable(ours) or not callable(theirs):
            continue
        paths.append(path)
    return paths


def test_signatures_match_cupy():
    """Guards against parameters CuPy does not have, or has under another name, order, kind or
    default: code that passes on the simulator would raise TypeError (or compute otherwise) on a
    GPU. Callables that CuPy compiles with Cython state no signature and are skipped."""
    problems, compared, skipped = [], 0, 0
    for path in _callables():
        theirs = _signature(_resolve(cupy, path))
        if theirs is None:
            skipped += 1
            continue
        compared += 1
        problem = _signature_problem(_signature(_resolve(sim, path)), theirs)
        if problem is not None and path not in SIGNATURE_DIFFERENCES:
            problems.append(f"sim.{path}: {problem}")
    assert compared >= 50, f"only {compared} signatures compared ({skipped} Cython callables skipped)"
    assert not problems, "Signatures differ from CuPy's:\n  " + "\n  ".join(problems)


def test_every_allow_list_entry_still_differs():
    """Guards the allow-lists against outliving their reason: once the simulator matches CuPy, the
    entry must go, so the next difference there is caught."""
    stale = [path for path in EXTRA_NAMES
             if _resolve(sim, path) is _MISSING or _resolve(cupy, path) is not _MISSING]
    for path in SIGNATURE_DIFFERENCES:
        ours, theirs = _resolve(sim, path), _resolve(cupy, path)
        cupys = None if theirs is _MISSING else _signature(theirs)
        if ours is _MISSING or cupys is None or _signature_problem(_signature(ours), cupys) is None:
            stale.append(path)
    uses = _gpucell_uses()
    stale += [path for path in NOT_SIMULATED if path not in uses or _resolve(sim, path) is not _MISSING]
    assert not stale, f"allow-list entries that no longer differ from CuPy (remove them): {stale}"


@pytest.mark.parametrize("keyword", ["where", "order", "subok", "signature"])
def test_ufuncs_refuse_the_keywords_cupy_refuses(keyword):
    """Guards the ufunc signature, which inspection cannot see (CuPy's ufuncs are Cython): CuPy's take
    ``out``, ``dtype`` and ``casting`` only, NumPy's (which the simulator runs) take more, so
    ``add(a, b, where=m)`` would pass on the simulator and fail on a GPU. CuPy refuses them before
    it touches a device, so both modules are asked."""
    for module in (cupy, sim):
        with pytest.raises(TypeError, match="Wrong arguments"):
            module.add(1, 2, **{keyword: True})
        with pytest.raises(TypeError, match="Wrong number of arguments"):
            module.add(1, 2, 3, 4)


# -- gpucell's own use of the GPU module -------------------------------------------------------------

_SOURCE = Path(gpucell.__file__).parent
_NOT_SCANNED = (_SOURCE / "backend" / "sim", _SOURCE / "backend" / "emulator")
_GPU_NAMES = ("cupy", "xp")  # in gpucell these names always hold the GPU module (or numpy, the other xp)
_FACTORIES = ("array_module", "xp_for")  # gpucell.backend's functions that return numpy or the GPU module
_BY_NAME = "gpu_ufunc"  # gpucell.ops._dispatch.gpu_ufunc(name): getattr(backend.cupy, name) at call time


class _Uses:
    """The attribute paths one gpucell module uses on the GPU module, found in its syntax tree.

    A GPU-module expression is ``backend.cupy`` (``backend`` imported from gpucell), a call of
    array_module / xp_for (bare or on ``backend``) or of a local function returning one, a name
    in _GPU_NAMES, or a name bound to such an expression (``cupy = backend.cupy``, also to a
    path below it: ``runtime = cupy.cuda.runtime``), or ``a if c else b`` with either branch one.
    Bindings are per function scope. ``getattr``/``hasattr`` with a literal name count as
    attribute uses, and so do the literal names given to gpu_ufunc, directly or through a local
    function that passes one of its parameters on to it.
    """

    def __init__(self, tree: ast.Module):
        self.paths: dict[str, int] = {}  # path -> first line using it
        self.backends: set[str] = set()
        self.factories = set(_FACTORIES)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "gpucell":
                self.backends |= {a.asname or a.name for a in node.names if a.name == "backend"}
            elif isinstance(node, ast.Import):
                self.backends |= {a.asname for a in node.names if a.name == "gpucell.backend" and a.asname}
        scope = {name: () for name in _GPU_NAMES}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                scope |= {a.asname or a.name: () for a in node.names if a.name == "cupy"}
            elif isinstance(node, ast.ImportFrom) and node.module == "gpucell.backend":
                scope |= {a.asname or a.name: () for a in node.names if a.name == "sim"}
        for node in tree.body:  # module-level helpers such as `def _xp(a): return backend.array_module(a)`
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(n, ast.Return) and n.value is not None and self.path(n.value, scope) == ()
                    for n in ast.walk(node)):
                self.factories.add(node.name)
        self.scan(tree.body, scope)
        self.scan_by_name(tree)

    def path(self, node, scope: dict) -> tuple | None:
        """The attribute path below the GPU module that ``node`` evaluates to (() for the module
        itself), or None when it is not one."""
        if isinstance(node, ast.Name):
            return scope.get(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "cupy" and isinstance(node.value, ast.Name) and node.value.id in self.backends:
                return ()
            base = self.path(node.value, scope)
            return None if base is None else (*base, node.attr)
        if isinstance(node, ast.IfExp):
            return next((p for p in (self.path(node.body, scope), self.path(node.orelse, scope)) if p is not None),
                        None)
        if isinstance(node, ast.BoolOp):
            return next((p for p in (self.path(v, scope) for v in node.values) if p is not None), None)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in self.factories or (
                    isinstance(func, ast.Attribute) and func.attr in _FACTORIES
                    and isinstance(func.value, ast.Name) and func.value.id in self.backends):
                return ()
            if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                base = self.path(node.args[0], scope)
                return None if base is None else (*base, node.args[1].value)
        return None

    def scan(self, body: list, outer: dict) -> None:
        """Binds the names of one scope, then records the paths its expressions use."""
        scope = dict(outer)
        statements = [n for stmt in body for n in _walk_scope(stmt)]
        for _ in range(3):  # a binding may use one made later in the text (a loop, a later branch)
            for node in statements:
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        self.bind(target, node.value, scope)
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    self.bind(node.target, node.value, scope)
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner = dict(scope)
                for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                    inner[arg.arg] = () if arg.arg in _GPU_NAMES else None  # a parameter hides outer names
                self.scan(node.body if isinstance(node.body, list) else [ast.Expr(node.body)], inner)
            elif isinstance(node, ast.Attribute):
                self.record(self.path(node, scope), node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr":
                if len(node.args) == 2 and isinstance(node.args[1], ast.Constant):
                    base = self.path(node.args[0], scope)
                    self.record(None if base is None else (*base, node.args[1].value), node)
            elif isinstance(node, ast.Call):
                self.record(self.path(node, scope), node)

    def bind(self, target, value, scope: dict) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = self.path(value, scope) if target.id not in _GPU_NAMES else ()
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self.bind(t, v, scope)

    def record(self, path: tuple | None, node) -> None:
        if path:
            self.paths.setdefault(".".join(path), node.lineno)

    def scan_by_name(self, tree: ast.Module) -> None:
        """Literal names given to gpu_ufunc, directly or through one local function's parameter."""
        forwarders = {}  # function name -> (position, parameter) that it passes to gpu_ufunc
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                params = [a.arg for a in node.args.args]
                for call in ast.walk(node):
                    if _calls(call, _BY_NAME) and call.args and isinstance(call.args[0], ast.Name) \
                            and call.args[0].id in params:
                        forwarders[node.name] = (params.index(call.args[0].id), call.args[0].id)
        for call in ast.walk(tree):
            if _calls(call, _BY_NAME) and call.args:
                self.record_literal(call.args[0], call)
            for name, (position, parameter) in forwarders.items():
                if _calls(call, name):
                    given = call.args[position] if position < len(call.args) else next(
                        (k.value for k in call.keywords if k.arg == parameter), None)
                    self.record_literal(given, call)

    def record_literal(self, node, call) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.record((node.value,), call)


def _calls(node, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _walk_scope(node):
    """The nodes of one scope: a nested function or lambda is yielded, but not entered."""
    yield node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk_scope(child)


def _gpucell_uses() -> dict[str, list[str]]:
    """Path on the GPU module -> the places in gpucell's source ("file:line") that use it."""
    uses: dict[str, list[str]] = {}
    for file in sorted(_SOURCE.rglob("*.py")):
        if any(part in file.parents for part in _NOT_SCANNED):
            continue
        found = _Uses(ast.parse(file.read_text(), str(file))).paths
        for path, line in found.items():
            uses.setdefault(path, []).append(f"{file.relative_to(_SOURCE.parent)}:{line}")
    return uses


def test_the_scan_finds_gpucell_uses_of_the_gpu_module():
    """Guards the coverage check against an AST scan that silently finds nothing: a few uses known
    to be in gpucell, each reached through a different kind of expression."""
    uses = _gpucell_uses()
    expected = {
        "cuda.Stream",              # backend.cupy.cuda.Stream(...)
        "cuda.runtime.getDeviceCount",  # runtime = cupy.cuda.runtime; runtime.getDeviceCount()
        "RawModule",                # cupy = backend.cupy; cupy.RawModule(...)
        "asnumpy",                  # the module global `cupy` of gpucell.backend
        "ascontiguousarray",        # xp = backend.array_module(x); xp.ascontiguousarray(x)
        "broadcast_to",             # array_module(a).broadcast_to(...)
        "true_divide",              # (backend.cupy if gpu else np).true_divide(...)
        "cuda.nvtx.available",      # getattr(backend.cupy.cuda.nvtx, "available", True)
        "isfinite",                 # checkpoint's _xp(raw).isfinite(...)
        "tanh",                     # gpu_ufunc("tanh")
        "add",                      # _ufunc_op("Add", "add", ...), which passes it to gpu_ufunc
    }
    assert expected <= set(uses), f"the scan missed: {sorted(expected - set(uses))}"


def test_every_name_gpucell_uses_exists_on_the_simulator_and_on_cupy():
    """Guards the GPU path itself: a name gpucell uses that the simulator lacks fails in CI only;
    one that CuPy lacks (the simulator offering more than CuPy) fails on a GPU only."""
    problems = []
    for path, where in sorted(_gpucell_uses().items()):
        if path in NOT_SIMULATED:
            continue
        lacking = [name for name, module in (("the simulator", sim), ("CuPy", cupy))
                   if _resolve(module, path) is _MISSING]
        if lacking:
            problems.append(f"{path} (used at {', '.join(where)}): missing in {' and '.join(lacking)}")
    assert not problems, "gpucell uses names of the GPU module that do not resolve:\n  " + "\n  ".join(problems)
