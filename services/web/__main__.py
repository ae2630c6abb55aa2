"""Run the web service: `python -m services.web`."""

from services.kit.service import main
from services.web.app import spec

if __name__ == "__main__":
    main(spec)
