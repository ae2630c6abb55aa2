"""Run the draw service: `python -m services.draw`."""

from services.draw.app import spec
from services.kit.service import main

if __name__ == "__main__":
    main(spec)
