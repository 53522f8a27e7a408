"""`make k8s-check`: the manifests applied to a throwaway Kubernetes control plane on loopback."""
