"""The cost model and the schedule decisions: estimates, searches, policies.

Owns how fast a schedule is thought to be (``model``: exact DRAM traffic from the
planner's own accounting, cycles from a step-level pipeline), the search for
tiles, orders and partitions (``search``, with its explicit state ``Search``), the
policies of ``tile``, ``select-order`` and ``partition`` (``decide``), the
on-disk decision store (``store``), the simulator as oracle (``oracle``: the one
module that imports ``igoc.sim``) and the state of one compile handed to the
passes (``session``). May import ``schedule``, ``isa``, ``target``, ``output``
(the store's entries) and, through ``oracle``, ``sim``; never ``dialects``,
``passes``, ``pipeline`` or above.
"""
