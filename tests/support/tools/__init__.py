"""The built tools tests drive (grpcurl, Docker Compose, hadolint) and the files they read."""
