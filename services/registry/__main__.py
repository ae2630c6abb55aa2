"""Run the registry service: `python -m services.registry`."""

from services.kit.service import main
from services.registry.app import spec

if __name__ == "__main__":
    main(spec)
