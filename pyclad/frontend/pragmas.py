"""``#pragma omp`` in a function body.

libclang (without -fopenmp) does not show OpenMP directives as cursors, and the derivative
code does not carry them: a loop under ``#pragma omp parallel for`` is differentiated as the
sequential loop it also is, which is correct -- and in reverse mode it must be sequential,
since the adjoint updates (``_d_x[i] += ...``) of different iterations may hit the same
element and would race.  The directives are found in the body's raw tokens (the preprocessor
lines are among them), so that the generated code can say so, and a directive whose
sequential reading is not what the primal computes is refused.
"""

from __future__ import annotations

import clang.cindex as ci

from ..errors import UnsupportedError

# Directives under which the statement that follows computes the same run sequentially:
# worksharing loops and SIMD loops (differentiated sequentially: noted in the generated
# code) and the synchronisation inside them (meaningless in one thread).
LOOPS = ("parallel for", "for", "simd", "parallel for simd", "for simd", "parallel loop", "loop", "taskloop")
SEQUENTIAL = ("atomic", "critical", "ordered", "barrier", "flush", "taskwait")


def omp_directives(cursor: ci.Cursor) -> dict[int, tuple[str, int]]:
    """The ``#pragma omp`` lines of a function: the offset of the statement each one applies
    to -> (the directive as written, the pragma's line)."""
    toks = list(cursor.get_tokens())
    out: dict[int, tuple[str, int]] = {}
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.spelling == "#" and i + 2 < len(toks) and toks[i + 1].spelling == "pragma":
            line = t.location.line
            j = i + 1
            while j < len(toks) and toks[j].location.line == line:
                j += 1
            words = [x for x in toks[i + 2 : j] if x.kind != ci.TokenKind.COMMENT]
            while j < len(toks) and toks[j].kind == ci.TokenKind.COMMENT:
                j += 1
            if words and words[0].spelling == "omp" and j < len(toks):
                out[toks[j].extent.start.offset] = (_text(words[1:]), line)
            i = j
            continue
        i += 1
    return out


def _text(toks) -> str:
    out, end = [], None
    for t in toks:
        if end is not None and t.extent.start.offset > end:
            out.append(" ")
        out.append(t.spelling)
        end = t.extent.end.offset
    return "".join(out)


def directive_name(text: str) -> str:
    """``parallel for`` of ``parallel for reduction(+ : s) schedule(static)``."""
    words = []
    for w in text.split():
        if w in ("parallel", "for", "simd", "loop", "taskloop") or (not words and w.isidentifier()):
            words.append(w)
        else:
            break
    return " ".join(words)


def check(lowerer, c: ci.Cursor, loc) -> None:
    """The directive before statement ``c``, if any: noted (a loop) or refused."""
    hit = lowerer.pragmas.get(c.extent.start.offset)
    if hit is None:
        return
    text, line = hit
    name = directive_name(text)
    if name in LOOPS and c.kind == ci.CursorKind.FOR_STMT:
        lowerer.notes.append(
            f"The loop at {loc} is under '#pragma omp {text}' (line {line}); its derivative runs "
            "sequentially: in reverse mode, the adjoint updates (+=) of parallel iterations would race."
        )
        return
    if name in SEQUENTIAL:
        return
    raise UnsupportedError(
        f"'#pragma omp {text}' is not supported: only loops under a worksharing or SIMD directive "
        f"({', '.join(LOOPS[:3])}, ...) are differentiated (sequentially)",
        loc,
    )
