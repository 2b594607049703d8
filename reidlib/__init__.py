"""reidlib: the reproducibility companion of "Not 3D Re-ID" (Alsehaim & Breckon, ICPR 2020).

Importing the package has no side effects: nothing is seeded, downloaded or moved to a device.
"""

__version__ = "0.1.0"
