"""Report rendering and the helpers its Python chunks use."""
