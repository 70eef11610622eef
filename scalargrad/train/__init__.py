"""Training classifiers: the model, the training loop and its one gradient step, workers and
MPI ranks, checkpoints, metrics logs, and MNIST's data files.

May import ``scalargrad.core``, ``scalargrad.compile``, ``matrix``, ``optim``, ``output_file``,
``series`` and ``errors``; never the pictures (``scalargrad.view``) nor the command line.
"""
