"""Calibration and evaluation of the base caller against the simulator's truth.

``evaluation`` scores calls against simulated tiles (and runs the oracle caller);
``recalibrate`` fits the quality tables (`opensbs basecall recalibrate`). The base caller itself
(``opensbs.basecall``) does not import the simulator.
"""
