"""Pictures and explanations: a recorded graph as a tree, DOT, SVG or JSON, its layout, the
sweeps step by step (explain), and chart panels of training runs and line fits.

The top layer of the library: may import anything in scalargrad but the command line.
"""
