"""A method's gradient called with or without the object's adjoint, as clad's execute allows
(``d.execute(obj, x, &d_obj, &dx)`` or ``d.execute(obj, x, &dx)``).

The CladFunction then holds a small callable with both call operators; the second passes a
zeroed adjoint of the object that the caller never sees.
"""

from __future__ import annotations

from .signatures import Plan


def callable_struct(plan: Plan, this_index: int) -> tuple[str, str]:
    """The callable's name and definition for ``plan`` (whose parameter ``this_index`` is the
    object's adjoint ``T* _d_this``)."""
    name = plan.clad_name.split("::")[-1] + "_call"
    types = plan.param_types
    record = types[this_index].rstrip("* ").strip()
    full = ", ".join(f"{t} a{i}" for i, t in enumerate(types))
    args = ", ".join(f"a{i}" for i in range(len(types)))
    short = ", ".join(f"{t} a{i}" for i, t in enumerate(types) if i != this_index)
    passed = ", ".join("&_d_this" if i == this_index else f"a{i}" for i in range(len(types)))
    callee = plan.clad_name.split("::")[-1]
    text = "\n".join(
        [
            "// clad's execute of a method's gradient, with or without the object's adjoint.",
            f"struct {name} {{",
            f"    void operator()({full}) const {{ {callee}({args}); }}",
            f"    void operator()({short}) const {{",
            f"        static_assert(std::is_trivially_copyable<{record}>::value,",
            '                      "pass the object\'s adjoint: it cannot be zeroed here");',
            f"        {record} _d_this = a0;",
            "        std::memset(static_cast<void *>(&_d_this), 0, sizeof _d_this);",
            f"        {callee}({passed});",
            "    }",
            "};",
        ]
    )
    return name, text + "\n"
