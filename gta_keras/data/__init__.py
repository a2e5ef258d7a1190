"""Input pipelines and the preprocessing shared by training and serving."""
