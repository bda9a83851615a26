"""Under the compiled engine, `micrograd_bn.engine` is the compiled module, so pytest cannot collect
engine.py's doctests (its file is not the module's): they run in the Python engine's pass."""

import micrograd_bn

collect_ignore = ["micrograd_bn/engine.py"] if micrograd_bn.ENGINE == "compiled" else []
