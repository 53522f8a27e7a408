"""The one-node Kubernetes cluster of `make k8s-up`: a real kubelet, containerd and pods."""
