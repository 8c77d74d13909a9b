"""Running as a service: systemd notification and the live daemon."""
