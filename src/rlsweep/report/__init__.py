"""Figures: the registry (figures), what they show (analysis) and how they are drawn (plots)."""
