"""make bench: what the mesh costs, measured against a bare grpc.aio baseline."""
