"""Reference implementations the fast code must agree with; never imported by the engine.

`oracle.py` is the per-agent Mesa oracle of model/engine.py: the same weekly rules, one technician
at a time, sharing no code with the engine; its DataCollector records the engine's outputs overall
and per facility. tests/model/test_oracle_agreement.py compares the two ensembles week by week and
facility by facility, and bench/bench_model.py times them.
"""
