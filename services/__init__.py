"""The four spotcheck services and the kit they run on."""
