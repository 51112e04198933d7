"""The asset library: built-in parametric white-box assets, text retrieval, and user imports."""
