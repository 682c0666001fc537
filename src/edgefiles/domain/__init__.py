"""Pure Python: no `js`, `pyodide` or `workers` imports, so it is unit-tested under CPython."""
