"""An example nncheck plugin package: LeakyReLU checks with their own reference."""
