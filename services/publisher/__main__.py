"""Run the publisher service: `python -m services.publisher`."""

from services.kit.service import main
from services.publisher.app import spec

if __name__ == "__main__":
    main(spec)
