# Docker Compose runtime (issue #6). Defines RUNTIME_DETECTED for `make bench`.
RUNTIME_DETECTED := native

.PHONY: up down logs ps test-docker bench-docker
up down logs ps test-docker bench-docker:
	@echo "make $@: the Docker runtime is not built yet (issue #6)" >&2; exit 2
