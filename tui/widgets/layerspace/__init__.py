"""The layer-space view\x27s widget: the input plane and the data as a hidden layer sees them."""
