"""The Python half of the local runtime's dispatch, loaded into Pyodide before the Worker.

It plays the part of workerd's introspection module (src/pyodide/internal/introspection.py,
`wrapper_func`) and of the proxy in src/pyodide/python-entrypoint-helper.ts (workerd
v1.20260822.1): it lists the entrypoint classes the main module exports and calls their methods
with production's conversions, `python_from_rpc` on every argument and `python_to_rpc` on the
result. Only `fetch` and `test` are called the relaxed way (arguments the method does not accept
are dropped). Everything else is called strictly with every argument workerd passes: `queue` and
`scheduled` get `(event, env, ctx)`, where env and ctx are None for a class entrypoint (workerd
passes undefined; the instance has `self.env` and `self.ctx`), so `queue(self, batch)` fails with
"takes 2 positional arguments but 4 were given", as it does in production.
"""

import inspect
import os
import signal
import traceback
from types import FunctionType

import _pyworker_limits
import js
from pyodide.code import relaxed_call
from pyodide.ffi import to_js
from workers import (
    DurableObject,
    WorkerEntrypoint,
    WorkflowEntrypoint,
    python_from_rpc,
    python_to_rpc,
)


class CpuLimitExceeded(BaseException):
    """What workerd raises in a Python Worker that used up its CPU time (introspection.py)."""


def _on_sigxcpu(signum, frame):
    """The runtime's watchdog sends SIGXCPU through Pyodide's interrupt buffer, as workerd does.
    The runtime says whether the running invocation is over its CPU time: the first time it
    raises CpuLimitExceeded; if the code swallows it and runs on, the interpreter exits, which
    ends this isolate (the runtime starts a fresh one), as workerd terminates it."""
    verdict = _pyworker_limits.sigxcpu()
    if verdict == "raise":
        raise CpuLimitExceeded("Python Worker exceeded CPU time limit")
    if verdict == "exit":
        os._exit(124)


signal.signal(signal.SIGXCPU, _on_sigxcpu)


def _public_methods(cls):
    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        for base in cls.__mro__:
            if name in base.__dict__:
                if isinstance(base.__dict__[name], FunctionType):
                    names.append(name)
                break
    return sorted(names)


def _exported(module, base):
    keys = getattr(module, "__all__", None)
    if keys is None:
        keys = [key for key in dir(module) if not key.startswith("_")]
    found = []
    for key in keys:
        value = getattr(module, key)
        if inspect.isclass(value) and issubclass(value, base) and value is not base:
            found.append({"className": value.__name__, "methodNames": _public_methods(value)})
    return found


def entrypoint_classes(module):
    return to_js(
        {
            "durableObjects": _exported(module, DurableObject),
            "workerEntrypoints": _exported(module, WorkerEntrypoint),
            "workflowEntrypoints": _exported(module, WorkflowEntrypoint),
        },
        dict_converter=js.Object.fromEntries,
    )


async def call_method(relaxed, instance, name, *args):
    method = getattr(instance, name)
    py_args = [python_from_rpc(arg) for arg in args]
    result = relaxed_call(method, *py_args) if relaxed else method(*py_args)
    if inspect.isawaitable(result):
        result = await result
    return python_to_rpc(result)


async def call_handler(instance, name, *args):
    """Handlers workerd passes raw JS arguments to (a Durable Object's alarm)."""
    result = relaxed_call(getattr(instance, name), *args)
    if inspect.isawaitable(result):
        await result


def format_exception(error):
    return "".join(traceback.format_exception(error))
