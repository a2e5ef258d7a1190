"""The four players: embedder F, classifier C, generator G and discriminator D."""
