"""W.W.H.D. core package."""
