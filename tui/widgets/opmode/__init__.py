"""Operation mode: the operation on show (equation, shapes, numbers) and the cycle's trace log."""
