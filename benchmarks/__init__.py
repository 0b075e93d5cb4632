"""Benchmarks: the bot's engine on synthetic shows of many episodes, side by side with the alternatives.

Run ``python -m benchmarks --episodes 100`` (or 1000); see docs/benchmarks.md.
"""
