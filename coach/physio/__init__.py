"""Demonstrations: teach an exercise from a demonstration, compare a patient with it, follow along."""
