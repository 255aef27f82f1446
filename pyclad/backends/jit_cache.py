"""The on-disk cache on the JIT path: a later process skips the transforms and cling's JIT.

Two things are stored per request (pyclad.backends.cache names the entries):
- the generated derivative (the ``Result``: its IR, helpers and calling convention), so a
  new process does not run the transforms again;
- for a derivative big enough that cling takes long over it, a shared library holding it
  and the user's code, compiled by the system compiler in the background (``g++ -O2
  -shared``, one at a time) in a namespace of its own.  A later process loads that library
  and declares the functions instead of having cling compile them: measured on a
  400-statement gradient, 0.05 s instead of 0.7 s (see benchmarks/bench_startup.py).

Only functions whose signatures use built-in types go through a library (a user's record
type would be a different type in the library's namespace); the rest is JIT-compiled as
before.  A library holds its own copy of the user's code: a global variable the primal
changes is not seen by a derivative loaded from a library.  ``PYCLAD_CACHE=0`` turns the
cache off.  Entries are Python pickles: the cache directory must be writable by its user
alone (the default one is).
"""

from __future__ import annotations

import os
import pickle
import queue
import re
import shlex
import subprocess
import threading

from .. import emit, ir
from ..checked import ENTRY, entry_signature, in_namespaces, inside
from ..checked import source as checked_source
from ..frontend.includes import user_headers
from ..frontend.layout import assemble, escape
from . import cache, runtime_include, toolchain

# Measured: loading a library and declaring its functions costs ~0.05 s, cling compiles a
# 20-line derivative in ~0.02 s and a 1500-line one in ~0.7 s; below this a library loses.
LIBRARY_MIN_LINES = 200
_queue: queue.Queue[str] = queue.Queue()
_worker: threading.Thread | None = None
stats = {"results_read": 0, "results_made": 0, "libraries_loaded": 0}  # in this process
_PLAIN = re.compile(
    r"^(void|bool|char|short|int|long|long long|unsigned( \w+)*|float|double|long double|"
    r"(::)?(std::)?size_t)$"
)


def enabled() -> bool:
    return os.environ.get("PYCLAD_CACHE", "1") != "0"


def attach(module) -> None:
    """Route a loaded module's derivative requests and compilations through the cache."""
    if not enabled():
        return
    state = _State(module)
    source = module.source
    run, compile_ = source._run, module._compile
    source._run = lambda key, make: run(key, lambda: state.result(key, make))
    module._compile = lambda result, new, checked=False: state.compile(result, new, compile_, checked)


class _State:
    def __init__(self, module):
        src = module.source
        self.module = module
        self.flags = [a for a in src.args if a.startswith(("-std=", "-I", "-D"))]
        self.key = cache.key(src.text, user_headers(src.tu), src.args, src.filename)

    # -------------------------------------------------------------- results (the transforms)
    def result(self, key: tuple, make):
        k = cache.key(self.key, [], [], key)
        data = cache.read("jit", k, "result.pickle")
        if data is not None:
            try:
                result = pickle.loads(data)
            except Exception:  # noqa: BLE001 - a damaged or foreign entry is a miss
                result = None
            if result is not None:
                program = self.module.source.program
                for f in result.helpers + [result.function]:
                    if f.name not in program.generated:
                        program.add(f)
                program.take_new()
                stats["results_read"] += 1
                return result
        result = make()
        stats["results_made"] += 1
        cache.write("jit", k, "result.pickle", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        return result

    # -------------------------------------------------------------- compiled code (cling's JIT)
    def compile(self, result, new: list[ir.Function], jit_compile, checked: bool = False) -> None:
        """Define ``new`` (the plain or the bounds-checked variant) from a cached library, or
        JIT-compile it (and queue a library).  Functions in C++ namespaces and signatures
        with other than built-in types always go to the JIT."""
        if not new or any("::" in f.name for f in new) or not all(_plain(f) for f in new):
            return jit_compile(result, new, checked)
        functions = result.helpers + [result.function]
        variant = ["checked"] if checked else []
        k = cache.key(self.key, [], self.flags, [f.name for f in functions] + variant)
        # A name of its own: cppyy loads a second library of the same file name as the first.
        lib = os.path.join(cache.entry_dir("jit", k), f"{_namespace(k)}.so")
        if os.path.exists(lib) and self._load(lib, k, new, checked):
            return None
        jit_compile(result, new, checked)
        code = _render(functions, _namespace(k), checked)
        if code.count("\n") >= LIBRARY_MIN_LINES and not os.path.exists(lib + ".failed"):
            self._build(lib, k, code)
        return None

    def _load(self, lib: str, k: str, new: list[ir.Function], checked: bool) -> bool:
        from .jit import cppyy

        c, ns, jit = cppyy(), _namespace(k), self.module._jit
        try:
            c.load_library(lib)
        except Exception:  # noqa: BLE001 - an unloadable library is rebuilt
            os.unlink(lib)
            return False
        # Forwarders, not using-declarations: cppyy finds only functions defined in a scope.
        if checked:  # Python calls the entry shims (pyclad.checked.entry)
            signatures = [entry_signature(f) for f in new]
            decls = "".join(
                in_namespaces(inside(f.name, ENTRY), f"{sig};\n") for f, (sig, _) in zip(new, signatures)
            )
            uses = "".join(
                in_namespaces(
                    inside(f.name, ENTRY),
                    f"inline {sig} {{ return ::{ns}::{inside(f.name, ENTRY)}({', '.join(names)}); }}\n",
                )
                for f, (sig, names) in zip(new, signatures)
            )
            code = f"namespace {ns} {{\n{decls}}}\n"
            code += f"namespace {jit.namespace} {{\n{uses}}}\n"
        else:
            decls = "".join(emit.declaration(f) for f in new)
            uses = "".join(
                f"inline {emit.signature(f)} {{ return ::{ns}::{f.name}({', '.join(p.name for p in f.params)}); }}\n"
                for f in new
            )
            code = f"namespace {ns} {{\n{decls}}}\nnamespace {jit.namespace} {{\n{uses}}}\n"
        try:
            ok = c.cppdef(code)
        except SyntaxError:
            return False
        if ok is not False:
            stats["libraries_loaded"] += 1
        return ok is not False

    def _build(self, lib: str, k: str, code: str) -> None:
        """Compile the library in the background: this process goes on with the JIT's code."""
        from .aot import compiler
        from .jit import RUNTIME_ALIASES

        src = self.module.source
        # The module's text as cling compiles it (system headers hoisted, the user's own
        # inlined: see frontend/layout.py), inside the library's namespace.
        includes, body = assemble(src.layout)
        base = os.path.dirname(os.path.abspath(src.filename))
        ns = _namespace(k)
        tu = "\n".join(includes) + f"\n#include <pyclad/runtime.hpp>\n{RUNTIME_ALIASES[0]}\n"
        tu += f"namespace {ns} {{\n{RUNTIME_ALIASES[1]}\n"
        tu += f'#line 1 "{escape(src.filename)}"\n{body}\n{code}\n}}\n'
        cpp = os.path.join(cache.entry_dir("jit", k), "derivative.cpp")
        toolchain.write_atomic(cpp, tu)
        tmp = lib + f".tmp{os.getpid()}"
        cmd = [*shlex.split(compiler()), "-O2", "-shared", "-fPIC", *self.flags]
        cmd += [f"-I{runtime_include()}", f"-I{base}", "-x", "c++", cpp, "-o", tmp]
        q = shlex.quote
        # Success publishes the library in one rename; a failure leaves a marker, so that
        # later processes JIT-compile without trying the compiler again.
        script = f"if {shlex.join(cmd)}; then mv -f {q(tmp)} {q(lib)}; else touch {q(lib + '.failed')}; fi; rm -f {q(tmp)}"
        _queue.put(script)
        global _worker
        if _worker is None:
            _worker = threading.Thread(target=_run_builds, name="pyclad-cache-builds", daemon=True)
            _worker.start()


def _run_builds() -> None:
    """One compiler at a time, in the background; what is still queued when the process
    ends is dropped (a later process builds it), what is running finishes on its own."""
    while True:
        script = _queue.get()
        try:
            subprocess.run(
                ["sh", "-c", script],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            _queue.task_done()


def _render(functions: list[ir.Function], ns: str, checked: bool) -> str:
    """The functions' C++ (plain, or their bounds-checked variants with exported entry shims)
    as compiled inside namespace ``ns``."""
    from ..source import render

    if not checked:
        return render(functions, root=f"::{ns}")
    names = [f.name for f in functions]
    return checked_source(functions, render, names, f"::{ns}", inline_entries=False)


def _namespace(k: str) -> str:
    return f"__pyclad_c{k[:16]}"


def _plain(fn: ir.Function) -> bool:
    """A signature of built-in types only: the same in any namespace."""
    return all(_PLAIN.match(t.base.replace("const ", "")) for t in [fn.ret] + [p.type for p in fn.params])


def wait() -> None:
    """Wait for the libraries this process queued to be compiled (benchmarks and tests)."""
    _queue.join()
