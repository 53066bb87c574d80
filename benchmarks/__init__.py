"""gpucell's benchmarks: one script per question, a runner (``python -m benchmarks``), results/."""
