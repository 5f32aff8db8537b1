"""Process fault detection on the Tennessee Eastman process: PCA and dynamic PCA monitors."""
