"""Run the planner service: `python -m services.planner`."""

from services.kit.service import main
from services.planner.app import spec

if __name__ == "__main__":
    main(spec)
