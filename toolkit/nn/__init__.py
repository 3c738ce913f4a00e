"""Torch building blocks of the network: encoders, combiners, decoders, the network and its optimiser."""
