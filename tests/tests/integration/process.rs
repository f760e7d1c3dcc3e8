//! Process management: --count supervisor, --pidfile, --background, --log-format.
