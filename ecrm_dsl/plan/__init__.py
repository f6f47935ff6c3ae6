"""The execution plan: the contract between the compiler and the runtime.

``model.Plan`` and the records it holds (``scenario``, ``nodes``, ``project``) are the plan as typed data;
``document`` writes its canonical bytes and loads a plan, checked first by ``validate`` against
``schemas/plan.schema.json``, ``contract``'s format and version and ``hashing``'s content hashes. The runtime
imports this package and never the front end that produces plans.
"""
