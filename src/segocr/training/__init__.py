"""Training: data harvesting, augmentation and the loops that make shipped weights."""
