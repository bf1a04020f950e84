"""Defaults for hosts in the `gpu` group (spec 00-topology-and-data.md §4.7, 60-gpu.md)."""

gpu_expected_count = 1
gpu_on_missing_driver = "fail"  # or "skip", or "prepare" (install toolkit and runtime before the driver)
nvidia_container_toolkit_version = "1.17.8-1"
nvidia_runtime_class = "nvidia"
nvidia_device_plugin_image = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
gpu_smoke_test_image = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"

# NVIDIA container toolkit apt repository (60-gpu.md §4.1): the flat repository's base, to which
# the host's dpkg architecture is appended, and its signing key. The lab points both at its own
# repository.
nvidia_container_toolkit_apt_url = "https://nvidia.github.io/libnvidia-container/stable/deb"
nvidia_container_toolkit_apt_key_url = "https://nvidia.github.io/libnvidia-container/gpgkey"
