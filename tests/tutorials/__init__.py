"""Ports of MindSpore 2.x's beginner tutorials (issue 13), imports changed to gpucell.

A package so that test_tensor.py / test_dataset.py here do not clash with tests/test_tensor.py.
"""
