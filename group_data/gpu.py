"""Defaults for hosts in the `gpu` group (spec 00-topology-and-data.md §4.7, 60-gpu.md)."""

gpu_expected_count = 1
gpu_on_missing_driver = "fail"
nvidia_container_toolkit_version = "1.17.8-1"
nvidia_runtime_class = "nvidia"
nvidia_device_plugin_image = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
gpu_smoke_test_image = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
