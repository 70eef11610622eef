"""python -m scalargrad.core: print the recording functions generated from the table of rules
(codegen.recorders_source), the code every operator and function of scalargrad runs."""
from .codegen import recorders_source

print(recorders_source(), end="")
