"""Emergency drills (001 §2.3.2.3): plans, runs, steps, evaluations, retention."""
