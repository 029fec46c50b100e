"""Problem management: recurring faults, known errors and their fixes."""
