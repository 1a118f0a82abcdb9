"""Kubernetes workload manifests normalised into the deployment model (used by Sensor, CLI, Central)."""
