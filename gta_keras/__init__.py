"""gta_keras: GAN-based domain adaptation for semantic segmentation (CVPR 2018)."""
