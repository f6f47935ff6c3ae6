"""The execution plan: the contract between the compiler and the runtime.

The runtime imports this package and never the front end that produces plans.
"""
