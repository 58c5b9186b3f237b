"""The pipeline's stages, one module per stage: files in, files out (the stage name is the module's)."""
